"""The `syncdx` command: parses arguments, calls the library, maps errors to exit codes.

Exit codes: 0 success, 2 bad arguments or evidence, 3 invalid model, 4 unreadable input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from syncdx.errors import EvidenceError, InputError, ModelError, SyncdxError
from syncdx.loading import load_model

EXIT_CODES: dict[type[SyncdxError], int] = {EvidenceError: 2, ModelError: 3, InputError: 4}
BAR_WIDTH = 30

Command = Callable[[argparse.Namespace, TextIO], int]


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    command: Command = args.command
    try:
        return command(args, out)
    except SyncdxError as error:
        print(f"syncdx: error: {error}", file=sys.stderr)
        return next((code for kind, code in EXIT_CODES.items() if isinstance(error, kind)), 1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncdx", description="Bayesian diagnosis of iMessage / iCloud sync problems."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _add_posterior(commands)
    return parser


def _add_posterior(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    posterior = commands.add_parser(
        "posterior",
        help="show P(cause present) given answers",
        description="Show the probability of each cause given answers such as paused_banner=yes.",
    )
    posterior.add_argument("answers", nargs="*", metavar="NODE=STATE", help="observed answers")
    posterior.add_argument("--model", help="model file (YAML, BIF, XMLBIF); default: shipped")
    posterior.add_argument("--top", type=int, default=None, help="show only the K likeliest")
    posterior.set_defaults(command=_posterior)


def parse_answers(pairs: Sequence[str]) -> dict[str, str]:
    """{node: state} from NODE=STATE words."""
    answers = {}
    for pair in pairs:
        node, sep, state = pair.partition("=")
        if not sep or not node.strip():
            raise EvidenceError(f"expected NODE=STATE, got {pair!r}")
        answers[node.strip()] = state.strip()
    return answers


def _posterior(args: argparse.Namespace, out: TextIO) -> int:
    model = load_model(args.model)
    answers = parse_answers(args.answers)
    posterior = model.posterior(answers)
    if args.top is not None:
        posterior = posterior.head(args.top)
    given = ", ".join(f"{k}={v}" for k, v in answers.items()) or "no answers"
    print(f"P(cause present | {given})", file=out)
    width = max(len(str(c)) for c in posterior.index)
    for cause, p in zip(posterior.index, posterior.to_numpy()):
        bar = "█" * round(p * BAR_WIDTH)
        print(f"  {cause!s:<{width}}  {p:6.1%}  {bar}", file=out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
