"""One instance of the fake Functions host's Python worker: loads sebs_http/__init__.py of the app
in the current directory and runs its main(req, context) for each request line on stdin, with the
real azure.functions HttpRequest; answers one marked JSON line per request on stdout (the
function's own prints go to stderr)."""
import importlib.util
import json
import os
import sys
import traceback

MARKER = "\x1esebs-azure-worker "
root = os.getcwd()
sys.path.insert(0, root)
import azure.functions as func  # noqa: E402

out, sys.stdout = sys.stdout, sys.stderr
spec = importlib.util.spec_from_file_location("sebs_http", os.path.join(root, "sebs_http", "__init__.py"))
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)


class Context:
    def __init__(self, invocation_id):
        self.invocation_id = invocation_id
        self.function_name = "sebs_http"
        self.function_directory = os.path.join(root, "sebs_http")


for line in sys.stdin:
    req = json.loads(line)
    try:
        request = func.HttpRequest(method="POST", url=req["url"], headers=req["headers"], params={},
                                   body=req["body"].encode("utf-8"))
        response = module.main(request, Context(req["id"]))
        answer = {"status": response.status_code, "body": response.get_body().decode("utf-8")}
    except Exception:  # noqa: BLE001 - the host answers 500 without a body
        answer = {"status": 500, "body": "", "error": traceback.format_exc()}
    out.write(MARKER + json.dumps(answer) + "\n")
    out.flush()
