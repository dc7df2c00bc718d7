"""The `function` module of a workflow's package (sebs, docs/workflows.md).

A workflow benchmark has one Python file per function (`python/<func_name>.py`, each with
`handler(event)`) and no `function.py`. Every function of the workflow is deployed from the same
package; the platform sets SEBS_WORKFLOW_FUNCTION to the function's `func_name`, and the wrapper's
`function.handler(event)` lands in that file's handler.
"""
import importlib
import os

_NAME = os.environ.get("SEBS_WORKFLOW_FUNCTION", "")
if not _NAME:
    raise RuntimeError(
        "SEBS_WORKFLOW_FUNCTION is not set: deploy workflow functions with `sebs benchmark invoke`, "
        "which names the workflow function each deployed function runs"
    )
handler = importlib.import_module("." + _NAME, __package__).handler
