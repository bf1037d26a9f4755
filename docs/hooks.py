"""MkDocs hook: generate ``reference.md`` (the sweep-file reference) from the config schema."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mkdocs.structure.files import File

_GEN = Path(__file__).with_name("gen_reference.py")


def on_files(files, config):
    spec = importlib.util.spec_from_file_location("mmsim_docs_gen_reference", _GEN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    files.append(File.generated(config, "reference.md", content=mod.render()))
    return files
