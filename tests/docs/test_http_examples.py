"""The HTTP examples of the documentation, run against a live server.

Each ``docs/src/http/<name>.console`` file is a transcript that a page includes: shell
commands (``$ curl ...``, continued with a trailing backslash) each followed by the JSON
the API answers. This test runs every file's commands, in order, in one bash session (so
``TOKEN=$(...)`` carries over) against a live server holding the demo catalogue
(``nexus_shop_seed --seed 1 --multi-variant-share 0``, fresh ids), and compares each
answer with the transcript:

- the JSON must be equal, except that ``"..."`` in the transcript matches any value
  (timestamps, tokens, cursors) and a list whose last item is ``"..."`` matches any longer
  list that starts with the items shown;
- ``http://127.0.0.1:8000`` is replaced by the live server's address.

``NEXUS_SHOP_WRITE_HTTP_EXAMPLES=1`` rewrites the answers from the live API instead
(volatile fields become ``"..."``): review the diff, then commit.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command

from tests.support import processes, require_binary

ROOT = Path(__file__).resolve().parents[2]
HTTP = ROOT / "docs" / "src" / "http"
BASE = "http://127.0.0.1:8000"
WRITE = os.environ.get("NEXUS_SHOP_WRITE_HTTP_EXAMPLES") == "1"
MARK = "@@nexus-shop-answer@@"
VOLATILE = {
    "created_at",
    "updated_at",
    "deleted_at",
    "access",
    "refresh",
    "next_cursor",
    # Webhooks: a new secret each time, and the times of deliveries and rotations.
    "secret",
    "next_attempt_at",
    "finished_at",
    "previous_secret_expires_at",
    "webhook_id",
}

# The accounts the transcripts log in with.
STAFF = ("staff", "staff-password-1")
CUSTOMER = ("alice", "correct-horse-battery-staple")


@dataclass
class Step:
    command: str  # as shown, without the "$ " prompts
    answer: str  # the transcript's answer, as shown


def parse(text: str) -> list[Step]:
    steps: list[Step] = []
    lines = iter(text.splitlines())
    command: list[str] = []
    for line in lines:
        if line.startswith("$ "):
            command = [line[2:]]
            while command[-1].endswith("\\"):
                command.append(next(lines))
            steps.append(Step("\n".join(command), ""))
        elif steps:
            steps[-1].answer += line + "\n"
    return steps


def render(steps: list[Step]) -> str:
    return "".join(f"$ {s.command}\n{s.answer.rstrip()}\n".replace("\n\n", "\n") for s in steps)


def matches(shown: Any, actual: Any) -> bool:
    if shown == "...":
        return True
    if isinstance(shown, dict) and isinstance(actual, dict):
        return shown.keys() == actual.keys() and all(matches(shown[k], actual[k]) for k in shown)
    if isinstance(shown, list) and isinstance(actual, list):
        if shown and shown[-1] == "...":
            head = shown[:-1]
            return len(actual) >= len(head) and all(map(matches, head, actual))
        return len(shown) == len(actual) and all(map(matches, shown, actual))
    if isinstance(shown, str) and isinstance(actual, str):
        # An image's file is named by the hash of its re-encoded bytes, which change with
        # the Pillow version (the dependency floors' session): the hash (and the directory
        # named by its first two digits) is not the point.
        return _SHA256.sub("<sha256>", shown) == _SHA256.sub("<sha256>", actual)
    return bool(shown == actual and type(shown) is type(actual))


_SHA256 = re.compile(r"\b[0-9a-f]{2}/[0-9a-f]{64}\b")  # "ce/ce39...": the fan-out directory too


def blank_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "..." if k in VOLATILE and v is not None else blank_volatile(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [blank_volatile(v) for v in value]
    return value


def run_transcript(steps: list[Step], url: str, tmp_path: Path) -> list[str]:
    script = ["set -euo pipefail"]
    for step in steps:
        script += [f"echo {MARK}", step.command.replace(BASE, url), "echo"]
    path = tmp_path / "transcript.sh"
    path.write_text("\n".join(script) + "\n")
    result = processes.run("bash", path, cwd=tmp_path, timeout=120)
    return [answer.strip() for answer in result.stdout.split(MARK + "\n")[1:]]


def transcripts() -> Iterator[Path]:
    return iter(sorted(HTTP.glob("*.console")))


@pytest.fixture
def demo_catalogue(transactional_db: None) -> None:
    # Single-variant products, as the transcripts were written against (the variant pages
    # create their own multi-variant products through the API).
    call_command(
        "nexus_shop_seed",
        products=40,
        categories=8,
        seed=1,
        multi_variant_share=0,
        verbosity=0,
    )
    users = get_user_model().objects
    staff = users.create_user(username=STAFF[0], password=STAFF[1], is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="nexus_shop"))


def test_every_transcript_is_on_a_page_and_every_included_one_exists() -> None:
    included = {
        HTTP.parent / name
        for page in (ROOT / "docs").rglob("*.md")
        for name in re.findall(r'^--8<-- "(http/[^"]+\.console)"', page.read_text(), re.MULTILINE)
    }
    assert included
    assert set(transcripts()) == included


@pytest.mark.parametrize("path", list(transcripts()), ids=lambda p: p.stem)
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_transcript_is_what_the_api_answers(
    path: Path, live_server: Any, demo_catalogue: None, tmp_path: Path
) -> None:
    require_binary("curl")
    steps = parse(path.read_text())
    assert steps, f"{path.name} has no commands"
    answers = run_transcript(steps, live_server.url, tmp_path)
    assert len(answers) == len(steps)
    for step, answer in zip(steps, answers, strict=True):
        if WRITE:
            body = blank_volatile(json.loads(answer)) if answer else None
            step.answer = json.dumps(body, indent=2, ensure_ascii=False) if answer else ""
            continue
        if not step.answer.strip():
            assert answer == "", f"{path.name}: `{step.command}` answered {answer}"
            continue
        shown = json.loads(step.answer)
        actual = json.loads(answer)
        assert matches(shown, actual), (
            f"{path.name}: `{step.command}` answered\n{json.dumps(actual, indent=2)}\n"
            f"not what the transcript shows (NEXUS_SHOP_WRITE_HTTP_EXAMPLES=1 rewrites it)"
        )
    if WRITE:
        path.write_text(re.sub(r"\n{2,}", "\n", render(steps)))
