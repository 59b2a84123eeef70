# Writes Python stacks as OpenTelemetry Python records exception.stacktrace:
# opentelemetry-sdk's Span.record_exception uses
# "".join(traceback.format_exception(type(e), value=e, tb=e.__traceback__)).
# Usage: python3 gen.py OUTDIR
import json
import os
import sys
import traceback

import yaml  # a site-packages frame


def stack(e):
    return "".join(traceback.format_exception(type(e), value=e, tb=e.__traceback__))


class Repo:
    def load(self, order_id):
        return {"id": order_id}["missing"]


def handler(order_id):
    return Repo().load(order_id)


def chained():
    try:
        handler(42)
    except KeyError as e:
        raise RuntimeError("order 42 could not be loaded") from e


def during():
    try:
        json.loads("{not json")
    except ValueError:
        undefined_name  # noqa: F821 NameError while handling


def dependency():
    yaml.safe_load("a: [1, 2")


def main(out):
    cases = {"simple": lambda: handler(42), "chained": chained, "context": during, "sitepackages": dependency, "group": group}
    for name, fn in cases.items():
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            with open(os.path.join(out, "python_%s.txt" % name), "w") as f:
                f.write(stack(e))
            with open(os.path.join(out, "python_%s.type" % name), "w") as f:
                f.write(type(e).__qualname__ + "\n" + str(e))


def group():  # Python 3.11+: raised by asyncio.TaskGroup, among others
    errs = []
    for fn in (handler, during):
        try:
            fn(42) if fn is handler else fn()
        except Exception as e:  # noqa: BLE001
            errs.append(e)
    raise ExceptionGroup("2 jobs failed", errs)


main(sys.argv[1])
