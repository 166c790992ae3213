"""A small, safe formula language for conditions and custom figures in plans (``margin_rate < 0.2``).

Role in the flow: a plan's ``multipliers[].when`` is parsed here when the plan is validated (so a bad formula is
a schema error with its path and line) and evaluated per payee — on the thousands of per-payee figures of a
run, never per transaction — by :func:`evaluate`.

Safety: the text is parsed with Python's ``ast`` in expression mode and every node is checked against a short
allow-list: numbers, ``true``/``false``, the names in :data:`NAMES`, the functions ``min``, ``max``, ``abs``,
arithmetic (``+ - * /``), comparisons, ``and``/``or``/``not`` and parentheses. Anything else — attribute access,
subscripts, calls of anything else, lambdas, comprehensions, strings, ``**`` — is refused with the reason. The
checked tree is then interpreted by this module; nothing is ever compiled or passed to ``eval``. Numbers are read
from their text as exact ``Decimal`` (``0.1`` is 0.1); division is exact to 28 significant digits and a division
by zero is an error naming the formula, not a crash.
"""

from __future__ import annotations

import ast
import re
import warnings
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

# The figures a formula can use, per payee and component, over the component's window:
NAMES = {
    "measure": "what the component sums (its credit type)",
    "quota": "the payee's quota (0 without one)",
    "attainment": "measure ÷ quota (0 without a quota)",
    "net": "credited net revenue",
    "margin": "credited gross margin (net − cost)",
    "margin_rate": "margin ÷ net (0 when net is 0)",
    "units": "credited units",
    "lines": "credited lines (a split line counts by the payee's share)",
    "earned": "what the component earned before multipliers",
}
FUNCTIONS = {"min": lambda *values: min(values), "max": lambda *values: max(values), "abs": abs}
MAX_LENGTH = 500
NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
MAX_DEPTH = 30


class FormulaError(ValueError):
    pass


_COMPARE = {ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
            ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b}
_ARITHMETIC = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
               ast.Div: lambda a, b: a / b}


class Formula:
    """A parsed, checked formula; :meth:`evaluate` interprets it over a mapping of names to Decimals."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise FormulaError("a formula is a non-empty text")
        if len(text) > MAX_LENGTH:
            raise FormulaError(f"a formula is at most {MAX_LENGTH} characters")
        self.text = text
        source = text.replace("true", "True").replace("false", "False")
        try:
            with warnings.catch_warnings():  # e.g. "invalid decimal literal": the text is refused below anyway
                warnings.simplefilter("ignore")
                tree = ast.parse(source.strip(), mode="eval")
        except (SyntaxError, ValueError, RecursionError) as error:
            raise FormulaError(f"not a formula: {getattr(error, 'msg', error)}") from None
        self._source = source.strip()
        self._check(tree.body, 0)
        self.tree = tree.body
        self.names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(FUNCTIONS))

    def _check(self, node: ast.AST, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise FormulaError(f"a formula nests at most {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return
            segment = ast.get_source_segment(self._source, node) or ""
            if isinstance(node.value, int | float) and NUMBER.fullmatch(segment):
                return
            raise FormulaError(f"only numbers (like 0.2 or 1000), true and false are allowed, not {segment or node.value!r}")
        if isinstance(node, ast.Name):
            if node.id not in NAMES:
                raise FormulaError(f"unknown name {node.id!r}; use one of {', '.join(NAMES)}")
            return
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.dump(node.func)[:40]
                raise FormulaError(f"unknown function {name!r}; use {', '.join(FUNCTIONS)}")
            if node.keywords or not node.args or (node.func.id == "abs" and len(node.args) != 1):
                raise FormulaError(f"{node.func.id}() takes {'one value' if node.func.id == 'abs' else 'values'}")
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    raise FormulaError("* is not allowed in a formula")
                self._check(arg, depth + 1)
            return
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _ARITHMETIC:
                raise FormulaError(f"operator {type(node.op).__name__} is not allowed; use + - * /")
            self._check(node.left, depth + 1)
            self._check(node.right, depth + 1)
            return
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
                raise FormulaError(f"operator {type(node.op).__name__} is not allowed")
            self._check(node.operand, depth + 1)
            return
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self._check(value, depth + 1)
            return
        if isinstance(node, ast.Compare):
            if any(type(op) not in _COMPARE for op in node.ops):
                raise FormulaError("only < <= > >= == != compare")
            self._check(node.left, depth + 1)
            for item in node.comparators:
                self._check(item, depth + 1)
            return
        raise FormulaError(f"{type(node).__name__} is not allowed in a formula")

    def evaluate(self, values: dict[str, Decimal]) -> Decimal | bool:
        try:
            return self._eval(self.tree, values)
        except (DivisionByZero, InvalidOperation, ZeroDivisionError):
            raise FormulaError(f"{self.text}: division by zero") from None

    def _eval(self, node: ast.AST, values: dict[str, Decimal]) -> Any:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return node.value
            return Decimal(ast.get_source_segment(self._source, node) or str(node.value))
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*(self._number(a, values) for a in node.args))
        if isinstance(node, ast.BinOp):
            return _ARITHMETIC[type(node.op)](self._number(node.left, values), self._number(node.right, values))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not self._truth(node.operand, values)
            value = self._number(node.operand, values)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BoolOp):
            results = (self._truth(v, values) for v in node.values)
            return all(results) if isinstance(node.op, ast.And) else any(results)
        if isinstance(node, ast.Compare):
            left = self._number(node.left, values)
            for op, item in zip(node.ops, node.comparators, strict=True):
                right = self._number(item, values)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        raise FormulaError(f"{type(node).__name__} is not allowed in a formula")  # unreachable after _check

    def _number(self, node: ast.AST, values) -> Decimal:
        value = self._eval(node, values)
        if isinstance(value, bool):
            raise FormulaError(f"{self.text}: a true/false value where a number is needed")
        return value

    def _truth(self, node: ast.AST, values) -> bool:
        value = self._eval(node, values)
        if not isinstance(value, bool):
            raise FormulaError(f"{self.text}: a number where a condition (true/false) is needed")
        return value


def parse(text: str) -> Formula:
    return Formula(text)
