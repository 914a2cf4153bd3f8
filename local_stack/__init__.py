"""The local stack: AWS's DynamoDB Local, moto for S3 and EventBridge, and the real handlers behind HTTP.

Never deployed. Everything here wires the same handler code the Lambdas run; nothing here reimplements it.
"""
