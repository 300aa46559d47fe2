"""The libcst transformer behind :func:`auditor.decode.downlevel.downlevel` (kept apart so that
importing the decoder does not import libcst: only scripts with 3.12-only syntax need it)."""

from __future__ import annotations

import ast

import libcst as cst


def _valid_311(code: str) -> bool:
    try:
        ast.parse(f"(\n{code}\n)", mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


class Lower(cst.CSTTransformer):
    def __init__(self, module: cst.Module) -> None:
        self.module = module

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.BaseExpression:
        code = self.module.code_for_node(updated_node)
        if _valid_311(code):
            return updated_node
        template, args = self._template(updated_node.parts)
        prefix = updated_node.prefix.replace("f", "").replace("F", "")
        quote = updated_node.quote
        call = f"{prefix}{quote}{template}{quote}.format({', '.join(args)})"
        call += "\n" * (code.count("\n") - call.count("\n"))  # keep the statement's lines
        return cst.parse_expression(f"({call})") if "\n" in call else cst.parse_expression(call)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
        return False  # lowered as a whole in leave_ConcatenatedString

    def leave_ConcatenatedString(
        self, original_node: cst.ConcatenatedString, updated_node: cst.ConcatenatedString
    ) -> cst.BaseExpression:
        if _valid_311(self.module.code_for_node(updated_node)):
            return updated_node
        # implicit concatenation needs string tokens on both sides, so join the lowered parts with "+"
        pieces: list[str] = []
        node: cst.BaseExpression = updated_node
        while isinstance(node, cst.ConcatenatedString):
            pieces.append(self._piece(node.left))
            pieces.append(" +" + self.module.code_for_node(node.whitespace_between))
            node = node.right
        pieces.append(self._piece(node))
        inner = "".join(pieces)
        return cst.parse_expression(f"({inner})").with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar) \
            if updated_node.lpar else cst.parse_expression(f"({inner})")

    def _piece(self, node: cst.BaseExpression) -> str:
        if isinstance(node, cst.ConcatenatedString):
            return self.module.code_for_node(self.leave_ConcatenatedString(node, node))
        return self.module.code_for_node(node.visit(self))

    def _template(self, parts: list[cst.BaseFormattedStringContent] | tuple) -> tuple[str, list[str]]:
        """The ``str.format`` template for f-string ``parts`` and its positional arguments in order."""
        template: list[str] = []
        args: list[str] = []
        for part in parts:
            if isinstance(part, cst.FormattedStringText):
                template.append(part.value)  # {{ and }} mean the same in str.format
                continue
            assert isinstance(part, cst.FormattedStringExpression)
            expr = self.module.code_for_node(part.expression)
            before = self.module.code_for_node(part.whitespace_before_expression)
            after = self.module.code_for_node(part.whitespace_after_expression)
            conversion = part.conversion
            if part.equal is not None:  # f"{x=}" prints the expression text, then repr unless told
                equal = self.module.code_for_node(part.equal)
                template.append("{}")
                args.append(repr(f"{before}{expr}{after}{equal}"))
                if conversion is None and part.format_spec is None:
                    conversion = "r"
            field = "{"
            if conversion is not None:
                field += f"!{conversion}"
            if part.format_spec is not None:
                spec, spec_args = self._template(part.format_spec)
                field += f":{spec}"
            else:
                spec_args = []
            template.append(field + "}")
            args.append(f"{before}{expr}{after}".strip(" ") if "#" not in after else f"{before}{expr}{after}")
            args.extend(spec_args)
        return "".join(template), args
