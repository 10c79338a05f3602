"""The claim language: a little arithmetic over named results, and one comparison.

Theory of operation. A lesson states what must be true of its runs, and the checker
proves it by running them; so a claim must be easy to read for a teacher and
impossible to abuse (no ``eval``). The whole language:

    claim  :=  expr  ( '<' | '<=' | '>' | '>=' )  expr
            |  expr  'within'  NUMBER ['%']  'of'  expr
            |  expr  'between'  expr  'and'  expr
    expr   :=  term  (('+' | '-') term)*
    term   :=  unary (('*' | '/') unary)*
    unary  :=  '-' unary  |  atom
    atom   :=  NUMBER ['%']  |  RUN '.' METRIC  |  METRIC '(' RUN ')'
            |  ('min' | 'max' | 'abs') '(' expr (',' expr)* ')'  |  '(' expr ')'

``sync.p99`` and ``p99(sync)`` are the same number; ``90%`` is 0.9; ``a within 5% of
b`` means ``|a - b| <= 0.05 |b|`` and ``a within 3 of b`` means ``|a - b| <= 3``.
Placeholders in a lesson's prose (``{{ sync.p99 }}``, ``{{ sync.utilization :.0% }}``)
use ``expr`` followed by an optional Python format spec.

Parsing checks metric names against ``values.METRICS`` and returns an AST of tuples;
evaluation takes a lookup ``(run, metric) -> float``. Errors are ``ClaimError`` with a
message only; the caller adds ``file:line``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from tui.lessonbook import values

COMPARISONS = ("<=", ">=", "<", ">")
FUNCTIONS = {"min": min, "max": max, "abs": abs}
TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<op><=|>=|==|!=|[-+*/()<>,%]))"
)
FORMAT_SPEC = re.compile(r"^[<>^=]?[+\- ]?#?0?\d*[,_]?(?:\.\d+)?[eEfFgG%d]?$")

Lookup = Callable[[str, str], float]
Node = tuple  # ("num", v) | ("ref", run, metric) | ("call", fn, [args]) | (op, a, b) | ("neg", a)


class ClaimError(ValueError):
    """A claim or expression that cannot be read or evaluated; the message says why."""


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ClaimError(f"cannot read {text[pos:].strip()[:20]!r} in {text.strip()!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text.strip()
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ClaimError(f"{self.text!r} ends too soon")
        self.i += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1] != value:
            raise ClaimError(f"expected {value!r} but found {token[1]!r} in {self.text!r}")

    def at(self, value: str) -> bool:
        token = self.peek()
        return token is not None and token[1] == value

    def done(self) -> None:
        token = self.peek()
        if token is not None:
            raise ClaimError(f"unexpected {token[1]!r} in {self.text!r}")

    # --- grammar -----------------------------------------------------------------

    def claim(self) -> Claim:
        left = self.expr()
        token = self.peek()
        if token is None:
            raise ClaimError(
                f"{self.text!r} is a number, not a claim: compare it with <, >, "
                "'within 5% of' or 'between ... and ...'"
            )
        if token[1] in ("==", "!="):
            raise ClaimError(
                f"{token[1]!r} is too strict for measured numbers: write 'within 5% of'"
            )
        if token[1] in COMPARISONS:
            self.take()
            right = self.expr()
            self.done()
            return Claim(self.text, token[1], (left, right))
        if token[1] == "within":
            self.take()
            kind, number = self.take()
            if kind != "num":
                raise ClaimError(f"'within' needs a number, like 'within 5% of', in {self.text!r}")
            relative = self.at("%")
            if relative:
                self.take()
            self.expect("of")
            right = self.expr()
            self.done()
            op = "within%" if relative else "within"
            return Claim(self.text, op, (left, right), tolerance=float(number))
        if token[1] == "between":
            self.take()
            low = self.expr()
            self.expect("and")
            high = self.expr()
            self.done()
            return Claim(self.text, "between", (left, low, high))
        raise ClaimError(f"unexpected {token[1]!r} in {self.text!r}")

    def expr(self) -> Node:
        node = self.term()
        while self.at("+") or self.at("-"):
            op = self.take()[1]
            node = (op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at("*") or self.at("/"):
            op = self.take()[1]
            node = (op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.take()
            return ("neg", self.unary())
        return self.atom()

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            number = float(value)
            if self.at("%"):
                self.take()
                number /= 100
            return ("num", number)
        if value == "(":
            node = self.expr()
            self.expect(")")
            return node
        if kind != "name" or value in ("within", "between", "and", "of"):
            raise ClaimError(f"expected a number or a name but found {value!r} in {self.text!r}")
        if self.at("("):
            self.take()
            return self.call(value)
        run, dot, metric = value.partition(".")
        if not dot:
            raise ClaimError(
                f"{value!r} alone is not a number: name a run and a result, like "
                f"{value}.p99 or p99({value})"
            )
        return ("ref", run, _metric(metric))

    def call(self, name: str) -> Node:
        if name in FUNCTIONS:
            args = [self.expr()]
            while self.at(","):
                self.take()
                args.append(self.expr())
            self.expect(")")
            if name == "abs" and len(args) != 1:
                raise ClaimError(f"abs takes one number, in {self.text!r}")
            return ("call", name, args)
        metric = _metric(name)
        kind, run = self.take()
        if kind != "name" or "." in run:
            raise ClaimError(f"{name}(...) takes a run's name, like {name}(sync), in {self.text!r}")
        self.expect(")")
        return ("ref", run, metric)


def _metric(name: str) -> str:
    if not values.known(name):
        close = [m for m in values.METRICS if m.startswith(name[:2])]
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ClaimError(f"unknown result {name!r}{hint}; see lessons/README.md for the list")
    return values.canonical(name)


@dataclass(frozen=True)
class Claim:
    """One parsed claim: its text, its comparison, its operands (ASTs)."""

    text: str
    op: str  # '<' '<=' '>' '>=' 'within' 'within%' 'between'
    operands: tuple[Node, ...]
    tolerance: float = 0.0

    @property
    def runs(self) -> set[str]:
        found: set[str] = set()
        for node in self.operands:
            found |= runs_of(node)
        return found

    def evaluate(self, lookup: Lookup) -> tuple[bool, str]:
        """Whether it holds, and the numbers that decided it, for a learner to read."""
        vals = [evaluate(node, lookup) for node in self.operands]
        shown = ", ".join(
            f"{render(node)} = {fmt(v)}" for node, v in zip(self.operands, vals, strict=True)
            if node[0] != "num"
        )
        if any(math.isnan(v) for v in vals):
            raise ClaimError(f"{self.text!r}: a value is not defined for this run ({shown})")
        a = vals[0]
        if self.op == "between":
            holds = vals[1] <= a <= vals[2]
        elif self.op in ("within", "within%"):
            allowed = self.tolerance
            if self.op == "within%":
                allowed = self.tolerance / 100 * abs(vals[1])
            holds = abs(a - vals[1]) <= allowed
            shown += f"; off by {fmt(abs(a - vals[1]))}, allowed {fmt(allowed)}"
        else:
            b = vals[1]
            holds = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[self.op]
        return holds, shown


def parse_claim(text: str) -> Claim:
    return _Parser(text).claim()


def parse_expr(text: str) -> Node:
    parser = _Parser(text)
    node = parser.expr()
    parser.done()
    return node


def runs_of(node: Node) -> set[str]:
    if node[0] == "num":
        return set()
    if node[0] == "ref":
        return {node[1]}
    if node[0] == "call":
        return set().union(*(runs_of(arg) for arg in node[2]))
    return set().union(*(runs_of(part) for part in node[1:]))


def evaluate(node: Node, lookup: Lookup) -> float:
    head = node[0]
    if head == "num":
        return node[1]
    if head == "ref":
        return lookup(node[1], node[2])
    if head == "neg":
        return -evaluate(node[1], lookup)
    if head == "call":
        return float(FUNCTIONS[node[1]](*(evaluate(arg, lookup) for arg in node[2])))
    a, b = evaluate(node[1], lookup), evaluate(node[2], lookup)
    if head == "+":
        return a + b
    if head == "-":
        return a - b
    if head == "*":
        return a * b
    if b == 0:
        raise ClaimError(f"division by zero in {render(node)}")
    return a / b


PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3}  # anything else binds tightest


def render(node: Node) -> str:
    """The expression as a teacher would write it, with the brackets its meaning needs."""
    head = node[0]
    if head == "num":  # as written: "1000", not "1,000" (a comma separates arguments)
        value = node[1]
        return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)
    if head == "ref":
        return f"{node[1]}.{node[2]}"
    if head == "neg":
        return f"-{_operand(node[1], 3)}"
    if head == "call":
        return f"{node[1]}({', '.join(render(a) for a in node[2])})"
    level = PRECEDENCE[head]
    # a - (b - c) and a / (b * c) keep their brackets; a + b + c and a * b / c need none
    right = level + 1 if head in ("-", "/") else level
    return f"{_operand(node[1], level)} {head} {_operand(node[2], right)}"


def _operand(node: Node, level: int) -> str:
    text = render(node)
    return f"({text})" if PRECEDENCE.get(node[0], 4) < level else text


def fmt(value: float) -> str:
    """A number as a person reads it: three significant digits or so, no float noise."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "unlimited" if value > 0 else "-unlimited"
    size = abs(value)
    if size >= 100 or value == int(value):
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


# --- placeholders --------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")


@dataclass(frozen=True)
class Placeholder:
    text: str  # as written, braces included
    node: Node
    spec: str  # a Python format spec, or "" for fmt()

    def fill(self, lookup: Lookup) -> str:
        value = evaluate(self.node, lookup)
        if math.isnan(value):
            raise ClaimError(f"{self.text}: not defined for this run")
        return format(value, self.spec) if self.spec else fmt(value)


def parse_placeholder(raw: str) -> Placeholder:
    inner = raw.strip()[2:-2].strip()
    expr, colon, spec = inner.partition(":")
    spec = spec.strip()
    if colon and not FORMAT_SPEC.match(spec):
        raise ClaimError(f"{raw}: {spec!r} is not a format like :.1f or :.0%")
    if not expr.strip():
        raise ClaimError(f"{raw}: empty placeholder")
    return Placeholder(raw, parse_expr(expr), spec)


def fill_text(text: str, lookup: Lookup | None, pending: str = "…") -> str:
    """Replace every ``{{ ... }}`` by its value (``pending`` when nothing has run yet)."""

    def one(match: re.Match) -> str:
        if lookup is None:
            return pending
        try:
            return parse_placeholder(match.group(0)).fill(lookup)
        except ClaimError:
            return pending

    return PLACEHOLDER.sub(one, text)
