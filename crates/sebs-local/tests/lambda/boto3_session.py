"""Drive the local platform's Lambda control plane with boto3, as an AWS backend would.

Usage: boto3_session.py ENDPOINT LANGUAGE RUNTIME NAME
(LANGUAGE: python or node). Prints one JSON object with what was checked; exits non-zero with
the failed check on stderr. Every raw answer is validated against botocore's description of
Lambda's API (service-2.json): members, types, required members, status codes, error codes.
"""

import base64
import hashlib
import io
import json
import sys
import urllib.request
import zipfile

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT, LANGUAGE, RUNTIME, NAME = sys.argv[1:5]

PYTHON_V1 = '''import json, os

def handler(event, context):
    if "requestContext" in event:
        return {"statusCode": 200, "headers": {"content-type": "application/json"},
                "body": json.dumps({"via": "url", "body": event["body"], "method": event["requestContext"]["http"]["method"]})}
    return {"version": 1, "echo": event.get("value"), "greeting": os.environ.get("GREETING"),
            "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
            "region": os.environ["AWS_REGION"], "handler": os.environ["_HANDLER"],
            "root_ok": os.path.isfile(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "app.py")),
            "remaining_ms": context.get_remaining_time_in_millis()}
'''

NODE_V1 = '''const fs = require('fs');
const path = require('path');
exports.handler = async (event, context) => {
  if (event.requestContext) {
    return {statusCode: 200, headers: {'content-type': 'application/json'},
            body: JSON.stringify({via: 'url', body: event.body, method: event.requestContext.http.method})};
  }
  return {version: 1, echo: event.value === undefined ? null : event.value, greeting: process.env.GREETING || null,
          name: process.env.AWS_LAMBDA_FUNCTION_NAME, memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
          region: process.env.AWS_REGION, handler: process.env._HANDLER,
          root_ok: fs.existsSync(path.join(process.env.LAMBDA_TASK_ROOT, 'app.js')),
          remaining_ms: context.getRemainingTimeInMillis()};
};
'''

SOURCE = {"python": ("app.py", PYTHON_V1), "node": ("app.js", NODE_V1)}[LANGUAGE]


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


# --- shape validation against botocore's model ---------------------------------------------

SCALARS = {
    "string": str, "integer": int, "long": int, "boolean": bool, "timestamp": str,
    "float": (int, float), "double": (int, float), "blob": str,
}
calls = []


def validate(shape, value, path):
    """Every member known to the model, of the model's type; required members present."""
    t = shape.type_name
    if t == "structure":
        check(isinstance(value, dict), f"{path}: expected an object, got {value!r}")
        for key, item in value.items():
            check(key in shape.members, f"{path}.{key}: not a member of {shape.name}")
            validate(shape.members[key], item, f"{path}.{key}")
        for key in shape.required_members:
            check(key in value, f"{path}: required member {key} missing")
    elif t == "list":
        check(isinstance(value, list), f"{path}: expected a list")
        for i, item in enumerate(value):
            validate(shape.member, item, f"{path}[{i}]")
    elif t == "map":
        check(isinstance(value, dict), f"{path}: expected a map")
        for k, v in value.items():
            validate(shape.value, v, f"{path}[{k}]")
    else:
        check(isinstance(value, SCALARS[t]) and not (t != "boolean" and isinstance(value, bool)),
              f"{path}: expected {t}, got {value!r}")
        if getattr(shape, "enum", None):
            check(value in shape.enum, f"{path}: {value!r} not in {shape.enum}")


def after_call(http_response, parsed, model, **kwargs):
    status = http_response.status_code
    calls.append((model.name, status))
    if status >= 300:
        kind = http_response.headers.get("x-amzn-ErrorType")
        body = json.loads(http_response.content)
        check(set(body) == {"Type", "message"}, f"{model.name} error body {body}")
        check(kind in [e.name for e in model.error_shapes] + ["PreconditionFailedException"],
              f"{model.name}: error {kind} is not one the model lists")
        return
    out = model.output_shape
    # An output member bound to the status code (DeleteFunction's StatusCode) takes any 2xx:
    # Lambda answers DeleteFunction 204.
    any_2xx = out is not None and any(
        m.serialization.get("location") == "statusCode" for m in out.members.values())
    check(status == model.http.get("responseCode", 200) or (any_2xx and status < 300),
          f"{model.name}: status {status}, the model says {model.http.get('responseCode', 200)}")
    if out is None or out.serialization.get("payload") or status == 204:
        return
    validate(out, json.loads(http_response.content or b"{}"), model.name)


client = boto3.client(
    "lambda", endpoint_url=ENDPOINT, region_name="us-east-1",
    aws_access_key_id="test", aws_secret_access_key="test",
    config=Config(retries={"max_attempts": 1}),
)
client.meta.events.register("after-call.lambda", after_call)


def error_of(call, **args):
    try:
        call(**args)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    check(False, f"{call.__name__} succeeded; an error was expected")


def invoke(payload):
    r = client.invoke(FunctionName=NAME, Payload=json.dumps(payload), LogType="Tail")
    log = base64.b64decode(r["LogResult"]).decode()
    cold = r["ResponseMetadata"]["HTTPHeaders"]["x-sebs-cold-start"] == "true"
    check("REPORT RequestId:" in log, f"Tail log has a REPORT line: {log!r}")
    check(("Init Duration" in log) == cold, f"Init Duration iff cold: {log!r}")
    return json.loads(r["Payload"].read()), cold


# --- the session ------------------------------------------------------------------------------

out = {}
zip_v1 = make_zip({SOURCE[0]: SOURCE[1]})
created = client.create_function(
    FunctionName=NAME, Runtime=RUNTIME, Role="arn:aws:iam::000000000000:role/lambda-role",
    Handler="app.handler", Code={"ZipFile": zip_v1}, MemorySize=128, Timeout=10,
    Architectures=["x86_64"], Description="boto3 test",
)
check(created["ResponseMetadata"]["HTTPStatusCode"] == 201, "CreateFunction answers 201")
check(created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{NAME}", created["FunctionArn"])
check(created["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_v1).digest()).decode(), "CodeSha256")
check(created["CodeSize"] == len(zip_v1), "CodeSize")
check((created["State"], created["LastUpdateStatus"], created["PackageType"], created["Version"])
      == ("Active", "Successful", "Zip", "$LATEST"), "state fields")
client.get_waiter("function_active_v2").wait(FunctionName=NAME)

first, cold = invoke({"value": 42})
check(cold, "the first invocation is cold")
check(first["echo"] == 42 and first["name"] == NAME and first["memory"] == "128", f"output {first}")
check(first["region"] == "us-east-1" and first["handler"] == "app.handler" and first["root_ok"], f"env {first}")
check(0 < first["remaining_ms"] <= 10_000, f"deadline {first}")
second, cold = invoke({"value": 43})
check(not cold and second["echo"] == 43, "the second invocation is warm")

updated = client.update_function_configuration(
    FunctionName=NAME, Environment={"Variables": {"GREETING": "hello"}}, MemorySize=256)
check(updated["RevisionId"] != created["RevisionId"], "a new RevisionId")
client.get_waiter("function_updated_v2").wait(FunctionName=NAME)
third, cold = invoke({"value": 44})
check(cold, "an invocation after a configuration update is cold")
check(third["greeting"] == "hello" and third["memory"] == "256", f"new configuration {third}")

got = client.get_function(FunctionName=NAME)
check(got["Configuration"]["Environment"]["Variables"] == {"GREETING": "hello"}, "GetFunction env")
check(got["Configuration"]["MemorySize"] == 256 and got["Configuration"]["Runtime"] == RUNTIME, "GetFunction config")
with urllib.request.urlopen(got["Code"]["Location"]) as r:
    check(r.read() == zip_v1, "Code.Location serves the zip")
config = client.get_function_configuration(FunctionName=f"arn:aws:lambda:us-east-1:000000000000:function:{NAME}")
check(config["Description"] == "boto3 test", "GetFunctionConfiguration by ARN")
listed = [f["FunctionName"] for p in client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1})
          for f in p["Functions"]]
check(NAME in listed, f"ListFunctions lists {NAME}: {listed}")

check(error_of(client.get_function, FunctionName=NAME + "-missing") == ("ResourceNotFoundException", 404), "missing")
check(error_of(client.create_function, FunctionName=NAME, Runtime=RUNTIME, Role="r", Handler="app.handler",
               Code={"ZipFile": zip_v1}) == ("ResourceConflictException", 409), "create twice")
check(error_of(client.create_function, FunctionName=NAME + "-x", Runtime="cobol85", Role="r", Handler="app.handler",
               Code={"ZipFile": zip_v1}) == ("InvalidParameterValueException", 400), "unknown runtime")
check(error_of(client.create_function, FunctionName=NAME + "-y", Runtime=RUNTIME, Role="r", Handler="missing.handler",
               Code={"ZipFile": zip_v1}) == ("InvalidParameterValueException", 400), "zip without the handler")
check(error_of(client.create_function, FunctionName=NAME + "-z", Runtime=RUNTIME, Role="r", Handler="app.handler",
               Code={"ZipFile": zip_v1}, Layers=["arn:aws:lambda:us-east-1:1:layer:l:1"])[0]
      == "InvalidParameterValueException", "unsupported parameter")

url = client.create_function_url_config(FunctionName=NAME, AuthType="NONE")["FunctionUrl"]
client.add_permission(FunctionName=NAME, StatementId="url", Action="lambda:InvokeFunctionUrl",
                      Principal="*", FunctionUrlAuthType="NONE")
check(error_of(client.create_function_url_config, FunctionName=NAME, AuthType="NONE")[0]
      == "ResourceConflictException", "a second URL config")
check(client.get_function_url_config(FunctionName=NAME)["FunctionUrl"] == url, "GetFunctionUrlConfig")
check("lambda:InvokeFunctionUrl" in client.get_policy(FunctionName=NAME)["Policy"], "GetPolicy")
request = urllib.request.Request(url, data=b'{"q": 1}', headers={"content-type": "application/json"}, method="POST")
with urllib.request.urlopen(request) as r:
    via_url = json.loads(r.read())
check(via_url == {"via": "url", "body": '{"q": 1}', "method": "POST"}, f"the function URL works: {via_url}")
out["function_url"] = url

v2 = SOURCE[1].replace('version": 1', 'version": 2').replace("version: 1", "version: 2")
zip_v2 = make_zip({SOURCE[0]: v2})
client.update_function_code(FunctionName=NAME, ZipFile=zip_v2)
client.get_waiter("function_updated_v2").wait(FunctionName=NAME)
fourth, cold = invoke({"value": 45})
check(cold and fourth["version"] == 2, f"new code runs cold: {fourth}")

client.delete_function_url_config(FunctionName=NAME)
check(error_of(client.get_function_url_config, FunctionName=NAME)[0] == "ResourceNotFoundException", "URL gone")
deleted = client.delete_function(FunctionName=NAME)
check(deleted["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteFunction answers 204")
check(error_of(client.get_function, FunctionName=NAME)[0] == "ResourceNotFoundException", "deleted")
check(error_of(client.invoke, FunctionName=NAME, Payload=b"{}")[0] == "ResourceNotFoundException", "not invocable")

out["calls"] = len(calls)
out["operations"] = sorted({name for name, _ in calls})
out["botocore"] = botocore.__version__
print(json.dumps(out))
