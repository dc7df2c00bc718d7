"""110.dynamic-html: server-side rendering of a dynamic page with Jinja2."""
import os
import random
from datetime import datetime

from jinja2 import Environment, FileSystemLoader

_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# Loaded once per instance: warm invocations reuse the compiled template.
_env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True)


def handler(event):
    username = event.get("username")
    size = event.get("random_len")
    if not isinstance(username, str) or not isinstance(size, int) or size < 0:
        raise ValueError(
            "expected an event with 'username' (string) and 'random_len' (non-negative integer), "
            "got %r" % {k: event.get(k) for k in ("username", "random_len")}
        )
    numbers = [random.randint(0, 1000000) for _ in range(size)]
    page = _env.get_template("template.html").render(
        username=username,
        cur_time=datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        random_numbers=numbers,
    )
    return {"result": page}
