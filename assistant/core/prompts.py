"""Prompt templates: files in `prompts/` with TOML front matter and role sections.

    +++
    name = "faithfulness"
    version = "1"
    description = "..."
    input_variables = ["n_points"]
    output_schema = "FaithDraft"
    prefix = "article"            # optional: messages of another template come first
    markers = ["BEGIN X", "END X"] # optional: delimiter lines no value may reproduce
    [parameters]
    temperature = 0.0
    max_tokens = 700
    +++
    === system ===
    ...
    === user ===
    ... {{ n_points }} ...

Role sections are parsed from the template source before any value is substituted, and
substitution is a single pass, so a value can neither open a role section nor inject
template syntax. Values are also stripped of chat-template control tokens (`<|im_start|>`
and the like) that some runtimes would otherwise parse as real role markers.

A system section takes no variables: it holds only our instructions, identical for every
call, and untrusted text (the article, evidence, claims) reaches the model only in user
turns, between the template's `markers` lines, which a value cannot reproduce. A prefix's
last user section and the template's first one form one user turn: the article first,
then the task, so a prefix cache shares everything up to the task.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assistant.backends.base import Message
from assistant.errors import PromptError
from assistant.schemas import PromptRef

_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SECTION = re.compile(r"^=== (system|user|assistant) ===[ \t]*$", re.MULTILINE)
# Chat-template control tokens: <|im_start|>, <|endoftext|>, <|eot_id|>, <|fim_prefix|> ...
_CONTROL_TOKEN = re.compile(r"<\|([^<>|\n]{0,64})\|>")
# Other families' markers that some tokenizers treat as special.
_OTHER_MARKERS = re.compile(r"</?s>|\[/?INST\]|<<\/?SYS>>|<start_of_turn>|<end_of_turn>")


def neutralize(value: str, markers: Sequence[str] = ()) -> str:
    """Make control-token text and delimiter lines inert while keeping them readable.

    `<|im_start|>` becomes `<｜im_start｜>` (fullwidth bars), which no tokenizer maps to a
    special token; a template marker such as `END UNTRUSTED ARTICLE` (any case or spacing)
    becomes `(end untrusted article)`, so a value cannot close its block early. Applied to
    every variable value at render time; the article itself and all offsets into it are
    untouched.
    """
    value = _CONTROL_TOKEN.sub(lambda m: f"<\uff5c{m.group(1)}\uff5c>", value)
    value = _OTHER_MARKERS.sub(lambda m: m.group(0).replace("<", "\u2039").replace("[", "\u27e6"), value)
    for marker in markers:
        pattern = r"(?<!\()" + r"\s+".join(map(re.escape, marker.split()))
        value = re.sub(pattern, lambda m: f"({' '.join(m.group(0).split()).lower()})", value,
                       flags=re.IGNORECASE)
    return value


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Template name (the file stem).")
    version: str = Field(description="Human-maintained version.")
    description: str = Field("", description="What the prompt does.")
    input_variables: tuple[str, ...] = Field((), description="Variables the body uses.")
    output_schema: str | None = Field(None, description="Name of the draft model it must fill.")
    prefix: str | None = Field(None, description="Template whose messages come first.")
    markers: tuple[str, ...] = Field((), description="Lines delimiting untrusted text; a value "
                                                     "cannot reproduce them.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Default model parameters.")
    sections: tuple[tuple[str, str], ...] = Field(description="(role, text) pairs.")
    hash: str = Field(description="sha256 of the file, first 12 hex digits.")
    path: str = Field("", description="File the template was loaded from.")

    @property
    def ref(self) -> PromptRef:
        return PromptRef(name=self.name, version=self.version, hash=self.hash)

    def render(self, markers: Sequence[str] = (), /, **values: Any) -> list[Message]:
        """Messages with `values` substituted; missing or unexpected variables are errors.

        Values are neutralised against this template's markers and any `markers` given
        (those of a prefix chain)."""
        expected = set(self.input_variables)
        given = set(values)
        if missing := sorted(expected - given):
            raise PromptError(f"prompt {self.name!r}: missing variable(s) {', '.join(missing)}")
        if unused := sorted(given - expected):
            raise PromptError(f"prompt {self.name!r}: unexpected variable(s) {', '.join(unused)}")
        fences = tuple(dict.fromkeys((*self.markers, *markers)))
        clean = {k: neutralize(str(v), fences) for k, v in values.items()}
        return [Message(role=role, content=_VAR.sub(lambda m: clean[m.group(1)], text))
                for role, text in self.sections]


def parse_template(source: str, *, name: str, path: str = "") -> PromptTemplate:
    if not source.startswith("+++\n"):
        raise PromptError(f"prompt {name!r}: must start with a '+++' front-matter block")
    try:
        front, body = source[4:].split("\n+++\n", 1)
        meta = tomllib.loads(front)
    except ValueError as exc:
        raise PromptError(f"prompt {name!r}: bad front matter: {exc}") from None
    marks = list(_SECTION.finditer(body))
    if not marks:
        raise PromptError(f"prompt {name!r}: no '=== role ===' section")
    if body[: marks[0].start()].strip():
        raise PromptError(f"prompt {name!r}: text before the first role section")
    sections = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        sections.append((mark.group(1), body[mark.end():end].strip("\n")))
    if system_vars := sorted({m.group(1) for role, text in sections if role == "system"
                              for m in _VAR.finditer(text)}):
        raise PromptError(f"prompt {name!r}: the system section uses {', '.join(system_vars)}; "
                          "it holds only fixed instructions, values go in a user section")
    lines = {line.strip() for _, text in sections for line in text.splitlines()}
    for marker in meta.get("markers", []):
        if not any(line.startswith(marker) for line in lines):
            raise PromptError(f"prompt {name!r}: marker {marker!r} starts no line of the body")
    used = {m.group(1) for _, text in sections for m in _VAR.finditer(text)}
    declared = set(meta.get("input_variables", []))
    if used != declared:
        raise PromptError(
            f"prompt {name!r}: input_variables {sorted(declared)} do not match the body's {sorted(used)}"
        )
    if meta.get("name", name) != name:
        raise PromptError(f"prompt {name!r}: front matter names it {meta['name']!r}")
    meta["name"] = name
    meta["version"] = str(meta.get("version", "0"))
    meta["input_variables"] = tuple(meta.get("input_variables", ()))
    meta["markers"] = tuple(meta.get("markers", ()))
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    try:
        return PromptTemplate(sections=tuple(sections), hash=digest, path=path, **meta)
    except ValueError as exc:
        raise PromptError(f"prompt {name!r}: {exc}") from None


def prompts_dir() -> Path:
    """`$ASSISTANT_PROMPTS_DIR`, else the packaged copy, else the repo's `prompts/`."""
    if env := os.environ.get("ASSISTANT_PROMPTS_DIR"):
        return Path(env)
    package = Path(__file__).resolve().parents[1]  # assistant/
    packaged = package / "_prompts"
    return packaged if packaged.is_dir() else package.parent / "prompts"


@cache
def _load(path: str, mtime_ns: int) -> PromptTemplate:
    file = Path(path)
    return parse_template(file.read_text(encoding="utf-8"), name=file.stem, path=path)


def load_prompt(name: str, directory: Path | None = None) -> PromptTemplate:
    file = (directory or prompts_dir()) / f"{name}.prompt"
    try:
        return _load(str(file), file.stat().st_mtime_ns)
    except FileNotFoundError:
        raise PromptError(f"prompt {name!r} not found in {file.parent}") from None


def render_with_prefix(template: PromptTemplate, values: dict[str, Any],
                       directory: Path | None = None) -> tuple[list[Message], list[PromptRef]]:
    """Render `template` after its prefix template; each gets the variables it declares.

    Every value is neutralised against the markers of the whole chain, and a template's
    first section joins the previous one when both are user turns (one turn, the prefix's
    text first)."""
    chain = [template]
    while chain[0].prefix:
        if len(chain) > 4:
            raise PromptError(f"prompt {template.name!r}: prefix chain too deep")
        chain.insert(0, load_prompt(chain[0].prefix, directory))
    wanted = {v for t in chain for v in t.input_variables}
    if unused := sorted(set(values) - wanted):
        raise PromptError(f"prompt {template.name!r}: unexpected variable(s) {', '.join(unused)}")
    markers = tuple(m for t in chain for m in t.markers)
    messages: list[Message] = []
    for t in chain:
        part = t.render(markers, **{k: v for k, v in values.items() if k in t.input_variables})
        if messages and part and messages[-1].role == part[0].role == "user":
            joined = f"{messages[-1].content}\n\n{part[0].content}"
            messages[-1] = Message(role="user", content=joined)
            part = part[1:]
        messages += part
    return messages, [t.ref for t in chain]
