#!/usr/bin/env python3
"""CDK entry point: `make build`, then `cdk synth` / `cdk deploy`."""

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.nag import suppress_justified_findings
from infra.stack import MeterbillStack

app = cdk.App()
stack = MeterbillStack(app, "Meterbill")
suppress_justified_findings(stack)
cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
app.synth()
