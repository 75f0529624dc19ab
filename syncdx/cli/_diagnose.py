"""`syncdx diagnose`: an interactive troubleshooting session in the terminal (needs `rich`).

Shows the likeliest causes as bars and proposes the next step of `_plan`: a question with its
allowed answers, or a repair action ("did it fix it? yes/no"), in the model's words (`--ids`
for node ids). When no repair action is left to plan with (a BIF network has none; or every
action was tried or skipped) it asks the question `recommend()` ranks first instead. It starts
from answers given as arguments (`paused_banner=yes`) or a session saved with `--save`
(`--load`). A reply is an answer (a state in any case, y/n, the number of a choice, or a
unique start of one: see `_replies`), a volunteered answer `question=state`, a "don't know"
word (the model's `unknown_words`, `--unknown-words`; at the prompt `?` is help, not one of
them: the question is skipped, no evidence), or a command: `skip`,
`undo`, `why` (what the step is for and what moved the likeliest cause), `help` or `?`, `quit`,
also written `:skip` etc.; a state of the current question wins over the bare command word of
the same name. A reply that contradicts earlier ones is not recorded. An action that targets a
cause an answer made less likely says why it is still proposed. The session ends when a fix is
confirmed, the last resort is suggested, nothing is left to ask, the user quits or the replies
run out; then it prints `Session.summary()` (`--summary-format text|markdown|json`) and saves
the session (`--save`). Replies come from the keyboard (with tab completion, when
prompt-toolkit is installed), or, when stdin is not a terminal or `--answers` names a JSON list
of replies, from there (echoed, for transcripts).

Exit codes: 0 the session ended or the user quit; 1 a needed extra is missing; 2, 3, 4 as for
every command (bad arguments, invalid model, unreadable replies or session file); 5 the replies
ran out before the session ended; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import reprlib
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from syncdx._model import Model
from syncdx._session import Session
from syncdx.cli._dialogue import DONE as DONE
from syncdx.cli._dialogue import INTERRUPTED as INTERRUPTED
from syncdx.cli._dialogue import OUT_OF_REPLIES as OUT_OF_REPLIES
from syncdx.cli._dialogue import Dialogue as Dialogue
from syncdx.cli._dialogue import Reader
from syncdx.cli._dialogue import _refusal as _refusal
from syncdx.cli._display import CAUSES_HELP, causes_list, wrapped
from syncdx.cli._models import load
from syncdx.cli._replies import parse_answers
from syncdx.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    from rich.console import Console

INSTALL_HINT = "syncdx diagnose needs the 'rich' package (a dependency of syncdx): pip install rich"
#: How many characters of a bad reply an error message shows.
SHOWN_JSON = 60
#: Console width for scripted runs (stable transcripts), and the most used at a terminal.
FIXED_WIDTH, MAX_WIDTH = 100, 120
SUMMARY_FORMATS = ("text", "markdown", "json")
EXIT_CODES_HELP = (
    "Exit codes: 0 the session ended (fixed, last resort, nothing left to ask) or quit; "
    "1 a needed extra is missing; 2 bad arguments; 3 invalid model; 4 unreadable replies or "
    "session file; 5 the replies ran out first; 130 interrupted."
)


def command(args: argparse.Namespace, out: TextIO) -> int:
    """Run `syncdx diagnose` with parsed arguments; the exit code."""
    try:
        from rich.console import Console
    except ImportError:
        raise MissingExtraError(INSTALL_HINT) from None
    model = load(args)
    session = _start(model, args.load, parse_answers(args.given, model.network))
    replies = _replies(args.answers)
    width = console_width(interactive=replies is None)
    console = Console(file=out, width=width, highlight=False, markup=False)
    reader = _terminal_reader(console) if replies is None else None
    dialogue = Dialogue(session, console, replies, ids=args.ids, reader=reader)
    code = dialogue.run()
    console.print()
    summary = summary_text(session, args.summary_format, ids=args.ids, width=console.width)
    console.print(summary, soft_wrap=True)
    if args.save:
        _save(session, Path(args.save))
        console.print(f"Saved the session to {args.save}")
    return code


def _start(model: Model, load: str | None, given: dict[str, str]) -> Session:
    """The session to start from: loaded (`--load`), then the answers given as arguments."""
    session = Session(model)
    if load is not None:
        try:
            text = Path(load).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the session: {exc.strerror}", file=load) from None
        session = Session.from_json(model, text)
    for node, state in given.items():
        session.answer(node, state)
    return session


def _save(session: Session, path: Path) -> None:
    try:
        path.write_text(session.to_json() + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot save the session: {exc.strerror}", file=str(path)) from None


def summary_text(
    session: Session, form: str, *, ids: bool = False, width: int | None = None
) -> str:
    """`session.summary()` as `form` ("text", "markdown" or "json") shows it; the text wrapped
    on words to `width` columns if given (markdown and JSON stay one line per item, to paste)."""
    summary = session.summary()
    if form == "json":
        return json.dumps(summary.to_dict(), indent=1)
    if form == "markdown":
        return summary.to_markdown(ids=ids)
    text = f"Summary\n{summary.to_text(ids=ids)}"
    return text if width is None else wrapped(text, width)


def console_width(*, interactive: bool) -> int:
    """The terminal's width (at most MAX_WIDTH) at a terminal; FIXED_WIDTH for scripted runs,
    so their transcripts do not depend on where they ran."""
    if not interactive:
        return FIXED_WIDTH
    return min(shutil.get_terminal_size((FIXED_WIDTH, 24)).columns, MAX_WIDTH)


def _replies(path: str | None) -> Iterator[str] | None:
    """Scripted replies: from the --answers file, or stdin when it is not a terminal (none
    when stdin is closed)."""
    if path is not None:
        return iter(read_replies(Path(path)))
    if sys.stdin is None:
        return iter(())
    if sys.stdin.isatty():
        return None
    return (line.strip() for line in sys.stdin)


def _terminal_reader(console: Console) -> Reader | None:
    """Tab completion at a terminal with prompt-toolkit; None (rich's input) without it."""
    try:
        from prompt_toolkit import prompt
        from prompt_toolkit.completion import WordCompleter
    except ImportError:
        return None
    if not (sys.stdout.isatty() and console.file is sys.stdout):
        return None

    def read(text: str, words: Sequence[str]) -> str:
        completer = WordCompleter(list(words), ignore_case=True, sentence=True)
        return prompt(text, completer=completer, complete_while_typing=False)

    return read


def read_replies(path: Path) -> list[str]:
    """The replies in a JSON file (UTF-8, with or without a byte-order mark); InputError if
    it cannot be read or is not a list of strings."""
    try:
        replies = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the replies: {exc}", file=str(path)) from None
    except RecursionError:
        raise InputError(
            "the replies must be a JSON list of strings; this JSON is nested too deeply",
            file=str(path),
        ) from None
    if not isinstance(replies, list):
        raise InputError("the replies must be a JSON list of strings", file=str(path))
    for number, reply in enumerate(replies, start=1):
        if not isinstance(reply, str):
            raise InputError(
                f"the replies must be a JSON list of strings; reply {number} is "
                f"{_shown_json(reply)}",
                file=str(path),
            )
    return replies


def _shown_json(value: object) -> str:
    """`value` as JSON writes it, shortened to SHOWN_JSON characters."""
    try:
        text = json.dumps(value)
    except (RecursionError, ValueError):
        text = reprlib.repr(value)
    return text if len(text) <= SHOWN_JSON else f"{text[: SHOWN_JSON - 3]}..."


def add_arguments(parser: Any) -> None:
    """The options of `syncdx diagnose`, and its exit codes in the help's epilog."""
    parser.add_argument(
        "given", nargs="*", metavar="NODE=STATE", help="answers already known, to start from"
    )
    parser.add_argument("--load", metavar="FILE", help="resume a session saved with --save")
    parser.add_argument("--save", metavar="FILE", help="save the session (JSON) at the end")
    parser.add_argument(
        "--summary-format",
        choices=SUMMARY_FORMATS,
        default="text",
        help="how the summary printed at the end reads (default: text)",
    )
    parser.add_argument("--ids", action="store_true", help="show node ids, not the model's texts")
    parser.add_argument("--model", help="model file (YAML, BIF, XMLBIF); default: shipped")
    parser.add_argument("--causes", type=causes_list, help=CAUSES_HELP)
    parser.add_argument(
        "--answers", metavar="FILE", help="JSON list of replies, in order (non-interactive)"
    )
    parser.epilog = EXIT_CODES_HELP
