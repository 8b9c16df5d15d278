"""The lab's view of AWS requests and the errors it makes: botocore must read
them exactly as AWS's own (code, status, retryable or not)."""

from __future__ import annotations

import io

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.parsers import create_parser
from botocore.retries import standard

from snapmigrate_lab.wire import AwsCall, error_response, identify, throttle_code

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKID/20240101/{region}/{service}/aws4_request, "
    "SignedHeaders=host, Signature=00"
)


def environ(
    service: str,
    body: bytes = b"",
    method: str = "POST",
    path: str = "/",
    region: str = "us-east-1",
    **extra: str,
) -> dict:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_AUTHORIZATION": AUTH.format(region=region, service=service),
        "wsgi.input": io.BytesIO(body),
        **extra,
    }


def test_identify_query_json_and_rest_calls():
    body = b"Action=CreateDBCluster&Version=2014-10-31&DBClusterIdentifier=c1&Tags.Tag.1.Key=a"
    call = identify(environ("rds", body, region="eu-west-1"), body)
    assert (call.service, call.region, call.action, call.protocol) == (
        "rds",
        "eu-west-1",
        "CreateDBCluster",
        "query",
    )
    assert call.param("DBClusterIdentifier") == "c1"

    call = identify(
        environ("secretsmanager", b"{}", HTTP_X_AMZ_TARGET="secretsmanager.GetSecretValue"), b"{}"
    )
    assert (call.action, call.protocol) == ("GetSecretValue", "json")

    call = identify(
        environ("route53", method="POST", path="/2013-04-01/hostedzone/Z123/rrset/"), b"<xml/>"
    )
    assert (call.action, call.protocol) == ("ChangeResourceRecordSets", "rest-xml")
    call = identify(environ("route53", method="GET", path="/2013-04-01/change/C42"), b"")
    assert call.action == "GetChange"

    assert identify({"REQUEST_METHOD": "GET", "PATH_INFO": "/moto-api/"}, b"") is None


def test_query_lists_read_in_order():
    call = AwsCall(
        "rds", "us-east-1", "X", "query", {"Ids.member.2": "b", "Ids.member.1": "a", "Other": "x"}
    )
    assert call.items("Ids") == ["a", "b"]


def _parse(
    call: AwsCall, operation: str, status: int, headers: dict, body: bytes
) -> tuple[dict, AWSResponse]:
    model = botocore.session.get_session().get_service_model(call.service)
    op = model.operation_model(operation)
    parsed = create_parser(model.protocol).parse(
        {"status_code": status, "headers": headers, "body": body}, op.output_shape
    )
    return parsed, AWSResponse("http://lab", status, headers, None)


def _retry_context(parsed: dict, http: AWSResponse) -> standard.RetryContext:
    return standard.RetryContext(attempt_number=1, parsed_response=parsed, http_response=http)


@pytest.mark.parametrize(
    ("service", "protocol", "operation"),
    [
        ("rds", "query", "DescribeDBClusters"),
        ("route53", "rest-xml", "GetChange"),
        ("secretsmanager", "json", "GetSecretValue"),
        ("sts", "query", "GetCallerIdentity"),
    ],
)
def test_throttling_and_5xx_are_what_botocore_retries(service, protocol, operation):
    call = AwsCall(service, "us-east-1", operation, protocol)
    answer = error_response(call, throttle_code(call), "Rate exceeded")
    parsed, http = _parse(call, operation, answer.status, dict(answer.headers), answer.body)
    assert parsed["Error"]["Code"] == throttle_code(call)
    assert answer.status == 400
    assert standard.ThrottledRetryableChecker().is_retryable(_retry_context(parsed, http))

    answer = error_response(call, "ServiceUnavailable", "try again")
    parsed, http = _parse(call, operation, answer.status, dict(answer.headers), answer.body)
    assert answer.status == 503 and parsed["Error"]["Code"] == "ServiceUnavailable"
    assert standard.TransientRetryableChecker().is_retryable(_retry_context(parsed, http))


def test_modelled_errors_keep_aws_status_and_are_not_retried():
    call = AwsCall("rds", "us-east-1", "ModifyDBCluster", "query")
    answer = error_response(call, "DBClusterNotFoundFault", "DBCluster x not found.")
    assert answer.status == 404  # from the service model
    parsed, http = _parse(call, "ModifyDBCluster", answer.status, dict(answer.headers), answer.body)
    assert parsed["Error"] == {
        "Type": "Sender",
        "Code": "DBClusterNotFoundFault",
        "Message": "DBCluster x not found.",
    }
    ctx = _retry_context(parsed, http)
    assert not standard.ThrottledRetryableChecker().is_retryable(ctx)
    assert not standard.TransientRetryableChecker().is_retryable(ctx)
    assert error_response(call, "DBClusterAlreadyExistsFault", "exists").status == 400
