"""The lesson format: a Markdown file a teacher can write without reading code.

Theory of operation. A lesson is front matter between ``---`` lines (``title``,
``summary``, ``minutes``, ``covers``), then steps: each ``## heading`` starts one.
Inside a step, prose is plain Markdown, and three kinds of fenced block mean
something to partyhost:

- ```` ```scenario NAME ```` (TOML, the engine's keys: the same as a ``--scenario``
  file) sets up a run called NAME. ``like = "other"`` starts from another run's keys.
  A ``live`` word after the name (```` ```scenario real live ````) marks a run on the
  real servers: ``lessons check`` runs it only with ``--live``.
- ```` ```predict ```` asks the learner: a question, then either choices
  (``- text when CLAIM``: the choice is right when its claim holds) or
  ``answer: EXPR`` with ``tolerance: 10%`` (a number the run computes).
- ```` ```claims ```` lists claims, one a line, that must hold of the runs.
- ```` ```challenge NAME ```` sets a goal instead of a question (TOML): the starting
  party (``like = "run"`` and scenario keys), ``knobs`` (the keys the learner may
  change, each with its values: ``{ workers = "1..8", threads = "1,2,4,8" }``),
  ``goal`` (a claim about the run NAME: ``"tuned.p99 < 300"``) and ``cost`` (what to
  keep low, an expression of NAME's knobs: ``"tuned.workers"``). The best answer is
  never written: ``tui.lessonbook.runner.solve`` finds it by running the knob grid.

Prose after a ``predict`` block is the explanation, shown once the learner has
answered; ``{{ sync.p99 }}`` in prose is filled from the run. The file is tokenised by
markdown-it-py, so a fence inside a list or a quote is prose, as a reader would see it.
Nothing is run here: parsing only reads and checks the shape, and every mistake is a
``LessonError`` naming ``file:line``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from sim.limits import MAX_CHALLENGE_POINTS
from sim.scenario import KEYS, canonical, layer
from tui.lessonbook.claims import (
    PLACEHOLDER,
    Claim,
    ClaimError,
    Node,
    Placeholder,
    parse_claim,
    parse_expr,
    parse_placeholder,
    runs_of,
)

FRONT_KEYS = {"title", "summary", "minutes", "covers", "seconds"}
REQUIRED = ("title", "summary", "minutes", "covers")
BLOCKS = ("scenario", "predict", "claims", "challenge")
NEAR_MISSES = {
    "scenarios": "scenario", "claim": "claims", "prediction": "predict", "predictions": "predict",
    "check": "claims", "checks": "claims", "run": "scenario", "challenges": "challenge",
    "goal": "challenge",
}
# What a challenge's cost may name: numbers the scenario fixes before anything runs
# (tui.lessonbook.values.scenario_values), so every knob setting is priced without a run.
COST_RESULTS = ("workers", "threads", "hosts", "cores", "backlog", "timeout", "rate", "users",
                "limit_concurrency", "connect_timeout")
CHALLENGE_KEYS = ("knobs", "goal", "cost")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class LessonError(ValueError):
    """A lesson that cannot be read: ``where`` is ``file:line``."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class RunSpec:
    """A scenario block: the run's name, its keys, where each key was written."""

    name: str
    values: dict[str, Any]
    origins: dict[str, str]
    line: int
    source: str  # the TOML as written, shown to the learner
    live: bool = False


@dataclass(frozen=True)
class Choice:
    text: str
    claim: Claim
    line: int


@dataclass(frozen=True)
class Predict:
    """A question: choices (one of which the run makes right), or a number to guess."""

    question: str
    line: int
    choices: tuple[Choice, ...] = ()
    answer: Node | None = None
    answer_text: str = ""
    tolerance: float = 0.0
    relative: bool = True  # tolerance in percent of the answer, or in its unit
    unit: str = ""

    @property
    def runs(self) -> set[str]:
        if self.answer is not None:
            return runs_of(self.answer)
        return set().union(*(c.claim.runs for c in self.choices))


@dataclass(frozen=True)
class ClaimLine:
    claim: Claim
    line: int


@dataclass(frozen=True)
class Knob:
    """A key the learner may change in a challenge, and the values it may take."""

    key: str
    values: tuple[int | float, ...]
    text: str  # as written: "1..8", "1,2,4,8"

    def read(self, typed: str) -> int | float:
        """The learner's value for this knob; a ValueError says what is allowed."""
        try:
            number = float(typed.strip())
        except ValueError:
            raise ValueError(f"{self.key}: {typed.strip()!r} is not a number") from None
        for value in self.values:
            if abs(value - number) < 1e-9:
                return value
        raise ValueError(f"{self.key}: choose from {self.text}")


@dataclass(frozen=True)
class Challenge:
    """A goal instead of a question: change the knobs so that ``goal`` holds, cheaply."""

    name: str
    start: RunSpec  # the party the learner starts from (a knob it leaves unset: its first value)
    knobs: tuple[Knob, ...]
    goal: Claim
    cost: Node
    cost_text: str
    line: int

    @property
    def runs(self) -> set[str]:
        return self.goal.runs - {self.name}

    def points(self) -> int:
        count = 1
        for knob in self.knobs:
            count *= len(knob.values)
        return count


@dataclass
class Step:
    """One page of a lesson: prose, runs, maybe a question, claims."""

    title: str
    line: int
    before: str = ""  # shown at once
    after: str = ""  # shown once the learner has answered (or at once, with no question)
    runs: list[RunSpec] = field(default_factory=list)
    predict: Predict | None = None
    challenge: Challenge | None = None
    claims: list[ClaimLine] = field(default_factory=list)
    placeholders: list[tuple[Placeholder, int, bool]] = field(default_factory=list)  # after?

    @property
    def text(self) -> str:
        return "\n\n".join(part for part in (self.before, self.after) if part)


@dataclass
class Lesson:
    path: Path
    where: str  # how errors name the file: lessons/05-kitchen.md
    number: int
    slug: str
    title: str
    summary: str
    minutes: int
    covers: list[str]
    steps: list[Step]
    seconds: float = 10.0  # the demo: seconds each step stays on screen

    @property
    def key(self) -> str:
        return self.path.stem


def display_path(path: Path) -> str:
    """``lessons/05-kitchen.md`` however the file was reached."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return f"{path.parent.name}/{path.name}"


def parse_file(path: str | Path) -> Lesson:
    path = Path(path)
    where = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonError(f"{where}:1", f"cannot read the lesson: {exc}") from None
    return parse_lesson(text, path, where)


def parse_lesson(text: str, path: Path, where: str) -> Lesson:
    lines = text.splitlines()
    front, body_start = _front_matter(lines, where)
    match = re.match(r"^(\d+)-(.+)$", path.stem)
    number = int(match.group(1)) if match else 0
    slug = match.group(2) if match else path.stem
    steps = _steps(lines, body_start, where)
    return Lesson(
        path=path, where=where, number=number, slug=slug, title=front["title"],
        summary=front["summary"], minutes=front["minutes"], covers=front["covers"],
        steps=steps, seconds=front.get("seconds", 10.0),
    )


# --- front matter ----------------------------------------------------------------------


def _front_matter(lines: list[str], where: str) -> tuple[dict[str, Any], int]:
    if not lines or lines[0].strip() != "---":
        raise LessonError(
            f"{where}:1",
            "a lesson starts with front matter between --- lines (title, summary, minutes, covers)",
        )
    data: dict[str, Any] = {}
    for index in range(1, len(lines)):
        line = lines[index]
        at = f"{where}:{index + 1}"
        if line.strip() == "---":
            missing = [k for k in REQUIRED if k not in data]
            if missing:
                raise LessonError(f"{where}:1", f"front matter has no {missing[0]!r}")
            return data, index + 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, colon, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not colon or not key:
            raise LessonError(at, f"front matter lines are 'key: value', got {line.strip()!r}")
        if key not in FRONT_KEYS:
            raise LessonError(
                at, f"unknown front matter key {key!r} (use {', '.join(sorted(FRONT_KEYS))})"
            )
        if not value:
            raise LessonError(at, f"{key!r} is empty")
        data[key] = _front_value(key, value, at)
    raise LessonError(f"{where}:1", "the front matter's closing --- line is missing")


def _front_value(key: str, value: str, at: str) -> Any:
    value = value.strip()
    if key == "minutes":
        if not value.isdigit() or not 1 <= int(value) <= 60:
            raise LessonError(at, f"minutes must be a whole number from 1 to 60, got {value!r}")
        return int(value)
    if key == "seconds":
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not 1 <= seconds <= 600:
            raise LessonError(at, f"seconds must be a number from 1 to 600, got {value!r}")
        return seconds
    if key == "covers":
        items = [v.strip() for v in value.strip("[]").split(",") if v.strip()]
        if not items:
            raise LessonError(at, "covers lists topics, separated by commas")
        return items
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value


# --- steps -----------------------------------------------------------------------------


def _steps(lines: list[str], start: int, where: str) -> list[Step]:
    body = "\n".join(lines[start:])
    tokens = MarkdownIt("commonmark").parse(body)
    steps: list[Step] = []
    intro: list[str] = []
    runs_seen: dict[str, RunSpec] = {}
    parts: dict[int, list[str]] = {}  # id(step) -> ["before" pieces, ...]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.level != 0 or token.map is None or token.nesting == -1:
            i += 1
            continue
        first, last = token.map[0] + start, token.map[1] + start  # 0-based, in the file
        line = first + 1
        if token.type == "heading_open" and token.tag == "h2":
            title = tokens[i + 1].content.strip()
            steps.append(Step(title=title, line=line))
            parts[id(steps[-1])] = [[], []]  # type: ignore[list-item]
            i += 3
            continue
        if token.type == "heading_open" and token.tag == "h1":
            i += 3  # the title: the front matter's title is shown instead
            continue
        step = steps[-1] if steps else None
        if token.type == "fence":
            info = token.info.strip().split()
            kind = info[0].lower() if info else ""
            if kind in NEAR_MISSES:
                raise LessonError(f"{where}:{line}", f"unknown block {kind!r}: did you mean "
                                  f"```{NEAR_MISSES[kind]}?")
            if kind in BLOCKS:
                if step is None:
                    raise LessonError(f"{where}:{line}", f"a {kind} block belongs in a step: "
                                      "put a ## heading above it")
                _block(kind, info[1:], token.content, line, step, runs_seen, where)
                i += 1
                continue
        piece = "\n".join(lines[first:last]).strip("\n")
        _placeholders(piece, first + 1, step, where)
        if step is None:
            intro.append(piece)
        else:
            answered = step.predict or step.challenge  # text after it waits for the answer
            parts[id(step)][1 if answered else 0].append(piece)  # type: ignore[index]
        i += 1
    if not steps:
        raise LessonError(f"{where}:{start + 1}",
                          "a lesson needs steps: start each with a ## heading")
    for step in steps:
        before, after = parts[id(step)]
        step.before = "\n\n".join(before)
        step.after = "\n\n".join(after)
    if intro:
        steps[0].before = "\n\n".join([*intro, steps[0].before]).strip()
    return steps


def _placeholders(piece: str, first_line: int, step: Step | None, where: str) -> None:
    for offset, text in enumerate(piece.split("\n")):
        for match in PLACEHOLDER.finditer(text):
            at = f"{where}:{first_line + offset}"
            if step is None:
                raise LessonError(at, "a {{ placeholder }} needs a run: put it in a step")
            try:
                holder = parse_placeholder(match.group(0))
            except ClaimError as exc:
                raise LessonError(at, str(exc)) from None
            step.placeholders.append((holder, first_line + offset,
                                      step.predict is not None or step.challenge is not None))


def _block(kind: str, args: list[str], content: str, line: int, step: Step,
           runs_seen: dict[str, RunSpec], where: str) -> None:
    if kind == "scenario":
        run = _scenario(args, content, line, runs_seen, where)
        if any(r.name == run.name for r in step.runs):
            raise LessonError(f"{where}:{line}", f"this step already has a run named {run.name!r}")
        step.runs.append(run)
        runs_seen[run.name] = run
    elif kind == "challenge":
        if step.predict is not None or step.challenge is not None:
            raise LessonError(f"{where}:{line}", "one predict or challenge block per step")
        step.challenge = _challenge(args, content, line, runs_seen, where)
    elif kind == "predict":
        if args:
            raise LessonError(f"{where}:{line}", "```predict takes no words after it")
        if step.predict is not None or step.challenge is not None:
            raise LessonError(f"{where}:{line}", "one predict or challenge block per step")
        step.predict = _predict(content, line, where)
    else:
        if args:
            raise LessonError(f"{where}:{line}", "```claims takes no words after it")
        for offset, text in enumerate(content.split("\n")):
            text = text.strip()
            if not text or text.startswith("#"):
                continue
            at = line + 1 + offset
            try:
                step.claims.append(ClaimLine(parse_claim(text), at))
            except ClaimError as exc:
                raise LessonError(f"{where}:{at}", str(exc)) from None


def _challenge(args: list[str], content: str, line: int, runs_seen: dict[str, RunSpec],
               where: str) -> Challenge:
    """```challenge NAME: a scenario block, plus knobs, goal and cost (see the guide)."""
    if len(args) != 1:
        raise LessonError(f"{where}:{line}", "write ```challenge NAME (the run the goal names)")
    name = args[0]
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{where}:{line}", f"not valid TOML: {str(exc).split(' (at')[0]}") \
            from None
    body = content.split("\n")

    def at(key: str) -> str:
        return f"{where}:{line + 1 + _line_of(body, key)}"

    for key in CHALLENGE_KEYS:
        if key not in data:
            raise LessonError(f"{where}:{line}", f"a challenge needs {key!r}: knobs = {{ workers "
                              "= \"1..8\" }, goal = \"NAME.p99 < 300\", cost = \"NAME.workers\"")
    knobs_data, goal_text, cost_text = data["knobs"], data["goal"], data["cost"]
    if not isinstance(knobs_data, dict) or not knobs_data:
        raise LessonError(at("knobs"), "knobs is a table: knobs = { workers = \"1..8\" }")
    if not isinstance(goal_text, str) or not isinstance(cost_text, str):
        raise LessonError(at("goal"), "goal and cost are strings in the claim language")
    knobs = []
    for key, spec in knobs_data.items():
        key = canonical(key)
        if key not in KEYS or key in ("model", "seed", "mix", "phases", "discipline", "gil"):
            raise LessonError(at("knobs"), f"knobs: {key!r} is not a number a learner can set")
        try:
            knobs.append(Knob(key, knob_values(str(spec)), str(spec)))
        except ValueError as exc:
            raise LessonError(at("knobs"), f"knobs: {key}: {exc}") from None
    challenge_data = {k: v for k, v in data.items() if k not in CHALLENGE_KEYS}
    rest = "\n".join(f"{k} = {_toml(v)}" for k, v in challenge_data.items())
    start = _scenario([name], rest, line, runs_seen, where)
    origins = {k: (at(k) if k in data else v) for k, v in start.origins.items()}
    values = dict(start.values)
    for knob in knobs:  # a knob the starting party leaves unset starts at its first value
        values.setdefault(knob.key, knob.values[0])
        origins.setdefault(knob.key, at("knobs"))
    for knob in knobs:
        try:
            knob.read(str(values[knob.key]))
        except ValueError:
            raise LessonError(at(knob.key) if knob.key in data else at("knobs"),
                              f"the party starts at {knob.key} = {values[knob.key]}, which "
                              f"the knob does not offer ({knob.text})") from None
    start = RunSpec(name, values, origins, line, content.rstrip("\n"), False)
    count = 1
    for knob in knobs:
        count *= len(knob.values)
    if count > MAX_CHALLENGE_POINTS:
        raise LessonError(at("knobs"), f"knobs: {count} settings to search; at most "
                          f"{MAX_CHALLENGE_POINTS} (fewer values, or a step: \"1..64:8\")")
    try:
        goal = parse_claim(goal_text)
        cost = parse_expr(cost_text)
    except ClaimError as exc:
        raise LessonError(at("goal"), str(exc)) from None
    if name not in goal.runs:
        raise LessonError(at("goal"), f"the goal must be about the run {name!r}, like "
                          f"\"{name}.p99 < 300\"")
    for run, metric in _refs(cost):
        if run != name or metric not in COST_RESULTS:
            raise LessonError(at("cost"), f"cost names only {name}'s knobs, known before a run "
                              f"({', '.join(COST_RESULTS)}); got {run}.{metric}")
    return Challenge(name, start, tuple(knobs), goal, cost, cost_text, line)


def knob_values(spec: str) -> tuple[int | float, ...]:
    """``"1..8"`` (whole numbers), ``"1..64:8"`` (a step), ``"1,2,4,8"`` (a list)."""
    found = re.fullmatch(r"\s*(-?[\d.]+)\s*\.\.\s*(-?[\d.]+)\s*(?::\s*([\d.]+))?\s*", spec)
    if found:
        low, high, step = (float(x) if x else None for x in found.groups())
        assert low is not None and high is not None
        step = step or 1.0
        if step <= 0 or high < low:
            raise ValueError(f"{spec!r} must go up by a positive step")
        count = int((high - low) / step + 1e-9) + 1
        if count > MAX_CHALLENGE_POINTS:
            raise ValueError(f"{spec!r} is {count} values (at most {MAX_CHALLENGE_POINTS})")
        numbers = [low + i * step for i in range(count)]
    else:
        try:
            numbers = [float(v) for v in spec.split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"{spec!r}: write \"1..8\", \"1..64:8\" or \"1,2,4\"") from None
        if len(numbers) < 2 or len(set(numbers)) != len(numbers):
            raise ValueError(f"{spec!r}: give at least two different values")
    return tuple(int(n) if n == int(n) else n for n in numbers)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _refs(node: Node) -> list[tuple[str, str]]:
    if node[0] == "num":
        return []
    if node[0] == "ref":
        return [(node[1], node[2])]
    if node[0] == "call":
        return [ref for arg in node[2] for ref in _refs(arg)]
    return [ref for part in node[1:] for ref in _refs(part)]


def _scenario(args: list[str], content: str, line: int, runs_seen: dict[str, RunSpec],
              where: str) -> RunSpec:
    live = "live" in args
    words = [a for a in args if a != "live"]
    if len(words) > 1:
        raise LessonError(f"{where}:{line}", "write ```scenario NAME (and 'live' for a real run)")
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        at = line + int(found.group(1)) if found else line
        raise LessonError(f"{where}:{at}", f"not valid TOML: {str(exc).split(' (at')[0]}") from None
    body = content.split("\n")
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    like = None
    for key, value in data.items():
        at = f"{where}:{line + 1 + _line_of(body, key)}"
        if isinstance(value, dict) or (isinstance(value, list) and key != "mix"):
            raise LessonError(at, f"{key!r}: scenario keys take single values "
                              "(only a mix takes [[mix]] tables)")
        if key == "like":
            like = (str(value), at)
            continue
        values[key.replace("-", "_")] = value
        origins[key.replace("-", "_")] = at
    if like is not None:
        base = runs_seen.get(like[0])
        if base is None:
            known = ", ".join(runs_seen) or "none yet"
            raise LessonError(like[1], f"like = {like[0]!r}: no earlier run has that name "
                              f"(runs so far: {known})")
        values, origins = layer(base.values, base.origins, values, origins)
    name = words[0] if words else str(values.get("model", "")).strip().lower()
    if not name:
        raise LessonError(f"{where}:{line}", "name this run: ```scenario NAME (or set model)")
    if not NAME.match(name) or name in ("within", "between", "and", "of", "min", "max", "abs"):
        raise LessonError(f"{where}:{line}", f"{name!r} cannot name a run: use letters, digits, _")
    return RunSpec(name, values, origins, line, content.rstrip("\n"), live)


def _line_of(body: list[str], key: str) -> int:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, text in enumerate(body):
        if pattern.match(text):
            return number
    return 0


def _predict(content: str, line: int, where: str) -> Predict:
    question: list[str] = []
    choices: list[Choice] = []
    keys: dict[str, tuple[str, int]] = {}
    for offset, raw in enumerate(content.split("\n")):
        text = raw.strip()
        at = line + 1 + offset
        if not text or text.startswith("#"):
            continue
        if text.startswith("- "):
            body, sep, claim = text[2:].rpartition(" when ")
            if not sep or not body.strip():
                raise LessonError(f"{where}:{at}",
                                  "a choice is '- TEXT when CLAIM' (right when the claim holds)")
            try:
                choices.append(Choice(body.strip().rstrip(",:"), parse_claim(claim), at))
            except ClaimError as exc:
                raise LessonError(f"{where}:{at}", str(exc)) from None
            continue
        key, colon, value = text.partition(":")
        if colon and key.strip().lower() in ("answer", "tolerance", "unit"):
            keys[key.strip().lower()] = (value.strip(), at)
            continue
        if choices or keys:
            raise LessonError(f"{where}:{at}", "the question comes first, then the choices "
                              "or answer:/tolerance:/unit: lines")
        question.append(text)
    if not question:
        raise LessonError(f"{where}:{line}", "a predict block starts with the question")
    if choices and keys.keys() - {"unit"}:
        raise LessonError(f"{where}:{line}", "give choices or an answer: with a tolerance:, "
                          "not both")
    if choices:
        if len(choices) < 2:
            raise LessonError(f"{where}:{choices[0].line}", "give at least two choices")
        return Predict(" ".join(question), line, tuple(choices))
    if "answer" not in keys:
        raise LessonError(f"{where}:{line}", "a predict block needs '- choice when CLAIM' lines "
                          "or an 'answer: EXPR' line")
    if "tolerance" not in keys:
        raise LessonError(f"{where}:{keys['answer'][1]}",
                          "an answer needs a 'tolerance:' line, like 'tolerance: 10%'")
    answer_text, answer_line = keys["answer"]
    try:
        answer = parse_expr(answer_text)
    except ClaimError as exc:
        raise LessonError(f"{where}:{answer_line}", str(exc)) from None
    tol_text, tol_line = keys["tolerance"]
    found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%?)", tol_text)
    if not found or float(found.group(1)) <= 0:
        raise LessonError(f"{where}:{tol_line}",
                          f"tolerance is a number > 0, with % for a share: got {tol_text!r}")
    return Predict(
        " ".join(question), line, answer=answer, answer_text=answer_text,
        tolerance=float(found.group(1)), relative=bool(found.group(2)),
        unit=keys.get("unit", ("", 0))[0],
    )
