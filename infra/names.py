"""Physical names the template has to fix itself, derived from the stack name."""

from __future__ import annotations

from aws_cdk import Stack, Token
from constructs import Construct


def stack_scoped_name(scope: Construct, suffix: str, *, max_length: int = 64) -> str:
    """A name known at synth and unique per stack (stack names are unique in an account and region), so two
    stacks of this app never collide. For what must be named in the template itself: a function that invokes
    itself (its role names that one ARN; referring to the function resource would be a circular dependency)
    and the event bus (CloudFormation requires a name; CDK's default comes from construct ids, which two
    stacks of this app share)."""
    name = f"{Stack.of(scope).stack_name}-{suffix}"
    if Token.is_unresolved(name) or len(name) > max_length:
        raise ValueError(f"{name!r} must be known at synth and at most {max_length} characters")
    return name
