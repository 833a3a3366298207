"""docs/plugins.md documents every hook in podsmith_core/hookspecs.py with its exact signature."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from podsmith_core import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
SPEC_MARKER = f"{hookspecs.PROJECT}_spec"


def hook_specs() -> dict[str, object]:
    return {
        name: function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, SPEC_MARKER)
    }


def doc_sections() -> dict[str, str]:
    """Return the text under each `### `hook`` heading of the hook reference."""
    text = DOC.read_text(encoding="utf-8")
    reference = text.split("## Hook reference", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### `(\w+)`\s*$", reference, flags=re.MULTILINE)
    return {parts[index]: parts[index + 1] for index in range(1, len(parts), 2)}


def python_blocks(section: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def documented_signature(name: str) -> ast.FunctionDef:
    block = python_blocks(doc_sections()[name])[0].strip()
    tree = ast.parse(block + ": ...")
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef), f"first block of {name} is not a signature"
    return function


HOOKS = sorted(hook_specs())


def test_hook_list_matches():
    assert sorted(doc_sections()) == HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_signature_documented(name):
    spec = inspect.signature(hook_specs()[name])
    documented = documented_signature(name)

    assert documented.name == name
    assert [arg.arg for arg in documented.args.args] == list(spec.parameters)
    for arg in documented.args.args:
        assert ast.unparse(arg.annotation) == spec.parameters[arg.arg].annotation, arg.arg
    assert ast.unparse(documented.returns) == spec.return_annotation


@pytest.mark.parametrize("name", HOOKS)
def test_call_mode_documented(name):
    first_result = getattr(hook_specs()[name], SPEC_MARKER).get("firstresult", False)
    section = doc_sections()[name]

    expected = "*First result.*" if first_result else "*Every result.*"
    after_signature = section.split("```", 2)[2].lstrip()
    assert after_signature.startswith(expected)


@pytest.mark.parametrize("name", HOOKS)
def test_example_implements_hook(name):
    spec_args = set(inspect.signature(hook_specs()[name]).parameters)
    examples = python_blocks(doc_sections()[name])[1:]
    assert examples, f"{name} has no example implementation"

    implementations = []
    for block in examples:
        for node in ast.walk(ast.parse(block)):
            decorated = isinstance(node, ast.FunctionDef) and any(
                isinstance(decorator, ast.Name) and decorator.id == "hookimpl" for decorator in node.decorator_list
            )
            if decorated:
                implementations.append(node)

    assert [node.name for node in implementations] == [name]
    arg_names = [arg.arg for arg in implementations[0].args.args if arg.arg != "self"]
    assert set(arg_names) <= spec_args, f"{name} example takes {arg_names}, the hook defines {sorted(spec_args)}"


def test_all_python_blocks_parse():
    text = DOC.read_text(encoding="utf-8")
    sections = doc_sections()
    signatures = {python_blocks(section)[0] for section in sections.values()}

    for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL):
        if block in signatures:
            continue
        ast.parse(block)
