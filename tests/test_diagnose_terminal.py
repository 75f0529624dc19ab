"""`syncdx diagnose` in a real terminal (tmux, 60 columns): type, complete with Tab, read the
screen; Ctrl-C and Ctrl-D. Skipped where tmux is not installed (CI: apt-get install -y tmux)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import syncdx

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

ROOT = Path(__file__).resolve().parents[1]
#: How long to wait for the screen to show something (a slow, shared machine): a wait, not a
#: performance limit.
PATIENCE = 120.0
WIDTH = 60


class Terminal:
    """A tmux pane on a private server running `syncdx diagnose`."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        """Run a tmux command on this pane's private server; its output."""
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def screen(self) -> str:
        """The pane's text, long lines as the terminal wrapped them."""
        return self.tmux("capture-pane", "-p", "-S", "-200", "-t", "diag")

    def wait_for(self, text: str) -> str:
        """The screen once it shows `text` (a failure after PATIENCE seconds)."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        pytest.fail(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def type(self, *keys: str) -> None:
        """Send keys (literal text, or tmux key names such as Enter, Tab, C-c)."""
        self.tmux("send-keys", "-t", "diag", *keys)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    """A 60-column tmux pane running `python -m syncdx diagnose`, then `EXIT=<code>`."""
    socket = f"syncdx-test-{uuid.uuid4().hex[:12]}"
    term = Terminal(socket)
    env = f"env -u COLUMNS -u LINES PYTHONPATH={shlex.quote(str(ROOT))} TERM=xterm-256color"
    command = f"{env} {shlex.quote(sys.executable)} -m syncdx diagnose; echo EXIT=$?; sleep 600"
    term.tmux("new-session", "-d", "-s", "diag", "-x", str(WIDTH), "-y", "50", "sh", "-c", command)
    try:
        yield term
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
        with_socket = Path(f"/tmp/tmux-{os.getuid()}/{socket}")
        with_socket.unlink(missing_ok=True)


def test_typed_answers_and_tab_completion(terminal: Terminal) -> None:
    """An answer typed as "y" is taken; `low_power_mode_on=n` Tab-completes to `=no` and is
    noted; quit prints the summary and exits 0; no line is wider than the terminal."""
    terminal.wait_for("[yes / no] >")
    terminal.type("y", "Enter")
    terminal.wait_for("Did it fix it?")
    terminal.type("low_power_mode_on=n", "Tab")
    assert "low_power_mode_on=no" in terminal.wait_for("low_power_mode_on=no")
    terminal.type("Enter")
    terminal.wait_for("Noted: low_power_mode_on = no")
    terminal.type("quit", "Enter")
    screen = terminal.wait_for("EXIT=")
    assert "EXIT=0" in screen
    assert "Is Low Power Mode on, or is the battery below 20%?: no" in " ".join(screen.split())
    bars = [line for line in screen.splitlines() if "█" in line]
    assert bars
    assert all(line.startswith("  ") and "%" in line for line in bars)  # not wrapped
    _assert_summary_wrapped_on_words(screen)


def _assert_summary_wrapped_on_words(screen: str) -> None:
    """The end summary on the screen: no line wider than the terminal, and every cause and
    question text it shows whole (a word cut by the terminal would read as two)."""
    summary = screen[screen.rindex("Summary") : screen.index("EXIT=")]
    assert max(len(line) for line in summary.splitlines()) <= WIDTH
    shown = " ".join(summary.split())
    model = syncdx.load_model()
    texts = [" ".join(variable.text.split()) for variable in model.network.variables]
    listed = [text for text in texts if text and text[:25] in shown]
    assert len(listed) >= 3  # two answers and the likeliest causes
    assert any(len(text) > WIDTH for text in listed)  # something had to wrap
    for text in listed:
        assert text in shown


def test_ctrl_c_stops_with_a_summary(terminal: Terminal) -> None:
    """Ctrl-C at the prompt: "Interrupted", the summary, exit code 130, no traceback."""
    terminal.wait_for("[yes / no] >")
    terminal.type("C-c")
    screen = terminal.wait_for("EXIT=")
    assert "Interrupted; stopping." in screen
    assert "Summary" in screen
    assert "EXIT=130" in screen
    assert "Traceback" not in screen


def test_ctrl_d_ends_the_replies(terminal: Terminal) -> None:
    """Ctrl-D (end of input) at the prompt: the replies ran out, exit code 5."""
    terminal.wait_for("[yes / no] >")
    terminal.type("C-d")
    screen = terminal.wait_for("EXIT=")
    assert "No more replies; stopping." in screen
    assert "EXIT=5" in screen
