"""`syncdx describe` (what a model asks and does, with ids and texts) and `syncdx check` (is a
model file valid; its summary and warnings)."""

from __future__ import annotations

import argparse
import warnings
from typing import TYPE_CHECKING, TextIO

from syncdx._loading import load_model
from syncdx._model import Model
from syncdx.cli._display import CAUSES_HELP, causes_list

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def load(args: argparse.Namespace) -> Model:
    """The model a command works on: `--model` (default: the shipped one), with `--causes`
    where the command has it and the "don't know" words of `--unknown-words` (given before
    the command; default: the library's)."""
    return load_model(
        args.model, causes=getattr(args, "causes", None), unknown_words=args.unknown_words
    )


def add_describe(commands: Subparsers) -> None:
    """The `describe` command's arguments."""
    describe = commands.add_parser(
        "describe",
        help="list a model's causes, questions (with their states) and actions",
        description="List the causes with their priors, the questions with their states and "
        "costs, and the repair actions with their ids, costs and texts.",
    )
    describe.add_argument("--model", help="model file (YAML, BIF, XMLBIF); default: shipped")
    describe.add_argument("--causes", type=causes_list, help=CAUSES_HELP)
    describe.set_defaults(command=_describe)


def add_check(commands: Subparsers) -> None:
    """The `check` command's arguments."""
    check = commands.add_parser(
        "check",
        help="validate a model file: its summary and warnings (exit 3 if invalid)",
        description="Load and validate a model file; print what it holds and every warning. "
        "Exit 0 if it is valid (warnings included), 3 if not.",
    )
    check.add_argument("model", metavar="MODEL", help="model file (YAML, BIF, XMLBIF)")
    check.add_argument("--causes", type=causes_list, help=CAUSES_HELP)
    check.set_defaults(command=_check)


def _describe(args: argparse.Namespace, out: TextIO) -> int:
    model = load(args)
    for line in describe_lines(model):
        print(line, file=out)
    return 0


def describe_lines(model: Model) -> list[str]:
    """The causes (id, prior, text), questions (id, cost, states, text) and actions (id,
    cost, text; the last resort marked) of `model`, a section each."""
    network, prior = model.network, model.posterior({})
    lines = [f"{network.title or network.name} ({model.name})", "", "Causes (prior):"]
    width = max(len(cause) for cause in model.causes)
    for cause in model.causes:
        text = network.variable(cause).text
        lines.append(f"  {cause:<{width}}  {float(prior[cause]):6.1%}  {text}".rstrip())
    lines += ["", "Questions:"]
    for question in model.observations:
        variable = network.variable(question)
        cost = f"{variable.cost:g} min" if variable.cost is not None else ""
        lines.append(f"  {question}  [{' / '.join(variable.states)}]  {cost}".rstrip())
        if variable.text:
            lines.append(f"      {variable.text}")
    if network.actions:
        lines += ["", "Actions:"]
        for action in network.actions:
            mark = "  (last resort)" if action.last_resort else ""
            lines.append(f"  {action.id}  {action.cost:g} min{mark}")
            lines.append(f"      {action.text}")
    return lines


def _check(args: argparse.Namespace, out: TextIO) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(args)
    network = model.network
    print(f"{args.model}: valid model {model.name!r}", file=out)
    if network.title:
        print(f"  {network.title}", file=out)
    print(
        f"  {len(model.causes)} causes, {len(model.observations)} questions, "
        f"{len(network.actions)} actions",
        file=out,
    )
    print(f"  {len(caught)} warning{'' if len(caught) == 1 else 's'}", file=out)
    for warning in caught:
        print(f"  warning: {warning.message}", file=out)
    return 0
