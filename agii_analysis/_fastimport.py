"""Keep a slow import that the build never uses out of its processes.

nbformat, nbconvert and papermill import jsonschema, which imports `rfc3987_syntax`
whenever it is installed (JupyterLab's dependencies install it, through jsonschema's
`format-nongpl` extra). That package builds a Lark grammar on import: about 1.1 s of CPU
in every build process (a pool worker, the CLI), a known upstream problem
(python-jsonschema/jsonschema#1392). jsonschema uses it only to check the `iri` and
`iri-reference` formats, which no notebook schema has, and treats it as optional: a
`None` in `sys.modules` makes its import fail the way jsonschema expects. Imported by
the command line and by the modules that load the notebook tools (run, render,
templates), not by the package itself, so a researcher's own kernel is left alone. Where jsonschema was loaded first
(pytest with nbval), nothing changes.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)
