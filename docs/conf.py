# Sphinx configuration for the slsk documentation.
#
# The protocol reference in reference/ is generated from the schema by
# `cargo run -p codegen -- docs`; the guides are written by hand. The build
# needs nothing but the pinned packages of requirements.txt (no extensions,
# no network): `sphinx-build -W -b html docs docs/_build/html`.

project = "slsk"
author = "the slsk developers"
copyright = "the slsk developers"

extensions = []

root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "requirements.txt"]

# Literal text is written ``like this`` throughout; a bare `x` is an error.
default_role = None
highlight_language = "none"

html_theme = "alabaster"
html_title = "slsk: the Soulseek protocol"
html_show_sourcelink = False
html_theme_options = {"page_width": "1100px"}
