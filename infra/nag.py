"""cdk-nag findings that are accepted, each with the reason, as narrowly as cdk-nag allows: a wildcard or a
managed policy that is not listed here is still a finding (tests/infra fails on any open finding)."""

from __future__ import annotations

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

# Object-key wildcards under the prefixes the code writes and reads: invoices/ (invoice PDF and JSON),
# incoming/ (batch files the bulk Lambda opens) and results/ (its results and rejects).
OBJECT_PREFIXES = r"/^Resource::<Storage(Invoice|Batch)Bucket[0-9A-F]+\.Arn>\/(invoices|incoming|results)\/\*$/g"
# AWSLambdaBasicExecutionRole on CDK's own deploy-time handler that writes the batch bucket's notification
# configuration (BucketNotificationsHandler); our functions' roles have no managed policy.
BASIC_EXECUTION = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

JUSTIFIED = [
    NagPackSuppression(
        id="AwsSolutions-APIG4",
        reason="Every route authenticates in the Lambda: organization tokens and customer-session tokens are "
        "looked up by SHA-256 hash in the table (Polar's bearer-token contract); /openapi.json is public by design.",
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM4",
        reason="Only CDK's deploy-time handler that sets the batch bucket's notification uses "
        "AWSLambdaBasicExecutionRole (its own logs); every Meterbill function's role has no managed policy.",
        applies_to=[BASIC_EXECUTION],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="Object keys under one prefix of one bucket: invoices/* (PDF and JSON per invoice), incoming/* "
        "(the batch files the bulk Lambda reads), results/* (its results and rejects). Keys are per organization "
        "and file, so no narrower resource exists. No action is '*', and no other resource has a wildcard.",
        applies_to=[RegexAppliesTo(regex=OBJECT_PREFIXES)],
    ),
    NagPackSuppression(
        id="AwsSolutions-L1",
        reason="Python 3.12 is the runtime the dependency layer and its bytecode are built for (`make build`); "
        "moving to a newer runtime is a deliberate change of both.",
    ),
    NagPackSuppression(
        id="AwsSolutions-SQS3",
        reason="These queues are themselves the dead-letter / on-failure destinations of the async Lambda paths.",
    ),
]


def suppress_justified_findings(stack: Stack) -> None:
    NagSuppressions.add_stack_suppressions(stack, JUSTIFIED, apply_to_nested_stacks=True)
