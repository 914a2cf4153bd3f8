"""Which AWS actions each handler's code can reach, read from the source (no AWS, no imports of functions/).

A name-based call graph over functions/: a module's top level and each top-level function or class are
nodes; a node reaches every first-party name it mentions (imported names and `module.attribute`), and
importing a module runs its top level. From each handler module, every reachable node is scanned for AWS
calls, translated to the IAM actions they need:

A `("module", "function")` pair of string constants counts as a reference to that function (a module imported
at run time by name, as the management Lambda's route groups are).

- DynamoDB: `dynamo.call("<operation>", ...)` and the boto3 client methods named directly; the actions
  inside TransactWriteItems come from the dict keys that build them ("Put", "Update", "Delete",
  "ConditionCheck"), since a transaction needs the permission of each action it holds; a query with
  `IndexName=` needs Query on the index.
- S3 `put_object`/`get_object` (and `s3:GetObjectVersion` when the same function passes `VersionId`),
  EventBridge `put_events`, Lambda `invoke`, SQS `send_message` and `change_message_visibility`.

It over-approximates (a name mentioned counts as called), which is the safe side for "every call is
granted"; the grants are compared with it both ways, so an action no code reaches is caught as well.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"

DYNAMODB_OPERATIONS = {
    "get_item": "dynamodb:GetItem", "put_item": "dynamodb:PutItem", "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem", "query": "dynamodb:Query", "scan": "dynamodb:Scan",
    "batch_get_item": "dynamodb:BatchGetItem", "batch_write_item": "dynamodb:BatchWriteItem",
    "transact_get_items": "dynamodb:GetItem",
}
TRANSACTION_OPERATIONS = {"transact_write_items"}  # its actions are read from the items it holds
TRANSACTION_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
                       "ConditionCheck": "dynamodb:ConditionCheckItem"}
CLIENT_METHODS = {"put_object": "s3:PutObject", "get_object": "s3:GetObject", "put_events": "events:PutEvents",
                  "invoke": "lambda:InvokeFunction", "send_message": "sqs:SendMessage",
                  "send_message_batch": "sqs:SendMessage",
                  "change_message_visibility": "sqs:ChangeMessageVisibility"}
INDEX_QUERY = "dynamodb:Query (index)"

Node = tuple[str, str]  # (module, top-level name or "<top>")


@cache
def _program() -> tuple[dict[Node, list[ast.AST]], dict[str, dict[str, str]]]:
    modules: dict[str, ast.Module] = {}
    for path in FUNCTIONS.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = ast.parse(path.read_text())
    nodes: dict[Node, list[ast.AST]] = {}
    imports: dict[str, dict[str, str]] = {}
    for module, tree in modules.items():
        top: list[ast.AST] = []
        for statement in tree.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                nodes[(module, statement.name)] = [statement]
            else:
                top.append(statement)
        nodes[(module, "<top>")] = top
        names: dict[str, str] = {}  # local name -> "module" or "module:attribute"
        for statement in ast.walk(tree):
            if isinstance(statement, ast.ImportFrom) and (statement.module or "").startswith("functions"):
                for alias in statement.names:
                    full = f"{statement.module}.{alias.name}"
                    names[alias.asname or alias.name] = full if full in modules else f"{statement.module}:{alias.name}"
            elif isinstance(statement, ast.Import):
                for alias in statement.names:
                    if alias.name in modules:
                        names[alias.asname or alias.name] = alias.name
        imports[module] = names
    return nodes, imports


def _edges(node: Node) -> set[Node]:
    nodes, imports = _program()
    module = node[0]
    names = imports[module]
    out: set[Node] = set()
    for target in names.values():  # importing a module runs its top level
        out.add((target.split(":")[0], "<top>"))
    for part in nodes[node]:
        for child in ast.walk(part):
            if isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name):
                target = names.get(child.value.id, "")
                if target and ":" not in target:
                    out.add((target, child.attr))
            elif (isinstance(child, ast.Tuple) and len(child.elts) == 2
                  and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in child.elts)):
                # ("functions.x.routes", "register"): a function imported by name at run time (importlib),
                # as the management Lambda does with its route groups
                out.update({(child.elts[0].value, child.elts[1].value),  # type: ignore[union-attr]
                            (child.elts[0].value, "<top>")})  # type: ignore[union-attr]
            elif isinstance(child, ast.Name):
                if (module, child.id) in nodes:
                    out.add((module, child.id))
                target = names.get(child.id, "")
                if ":" in target:
                    out.add(tuple(target.split(":", 1)))  # type: ignore[arg-type]
    return {n for n in out if n in nodes}


def _calls(node: Node) -> set[str]:
    nodes, _ = _program()
    actions: set[str] = set()
    for part in nodes[node]:
        passes_version = any(isinstance(c, ast.Constant) and c.value == "VersionId" for c in ast.walk(part))
        for child in ast.walk(part):
            if isinstance(child, ast.Call):
                func = child.func
                method = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                first = child.args[0].value if child.args and isinstance(child.args[0], ast.Constant) else None
                if method == "call" and isinstance(first, str) and first not in TRANSACTION_OPERATIONS:
                    actions.add(DYNAMODB_OPERATIONS.get(first, f"dynamodb:{first}"))
                elif method in DYNAMODB_OPERATIONS:
                    actions.add(DYNAMODB_OPERATIONS[method])
                elif method in CLIENT_METHODS:
                    actions.add(CLIENT_METHODS[method])
                    if method == "get_object" and passes_version:
                        actions.add("s3:GetObjectVersion")
                if any(k.arg == "IndexName" for k in child.keywords):
                    actions.add(INDEX_QUERY)
            elif isinstance(child, ast.Dict):
                for key in child.keys:
                    if isinstance(key, ast.Constant) and key.value in TRANSACTION_ACTIONS:
                        actions.add(TRANSACTION_ACTIONS[key.value])
    # a query whose keyword arguments are built in a dict
    for part in nodes[node]:
        for child in ast.walk(part):
            if isinstance(child, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "IndexName"
                                                   for k in child.keys):
                actions.add(INDEX_QUERY)
    return actions


def actions_reached(handler_module: str) -> set[str]:
    """Every action the handler module's code can reach, e.g. actions_reached("functions.handlers.ingest"):
    from its top level (the cold start) and every function it defines (the handler Lambda calls)."""
    nodes, _ = _program()
    seen: set[Node] = set()
    pending = [node for node in nodes if node[0] == handler_module]
    while pending:
        node = pending.pop()
        if node in seen:
            continue
        seen.add(node)
        pending.extend(_edges(node) - seen)
    return set().union(*(_calls(node) for node in seen))
