"""AWS Signature Version 4 for the sebs storage and NoSQL shims (standard library only)."""
import datetime
import hashlib
import hmac

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def quote(text, safe=""):
    """RFC 3986 percent-encoding as SigV4 wants it (urllib.parse would cost ~8 ms to import)."""
    keep = _UNRESERVED | frozenset(safe.encode("ascii"))
    return "".join(
        chr(b) if b in keep else "%%%02X" % b for b in str(text).encode("utf-8")
    )

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _timestamps():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")


def _signature(secret_key, datestamp, region, service, string_to_sign):
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), datestamp)
    key = _hmac(key, region)
    key = _hmac(key, service)
    key = _hmac(key, "aws4_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _canonical_query(query):
    return "&".join(
        "%s=%s" % (quote(str(k), safe="-_.~"), quote(str(v), safe="-_.~"))
        for k, v in sorted(query)
    )


class Credentials:
    """A key pair, an optional session token, and the signing region."""

    def __init__(self, access_key, secret_key, region, token=None):
        self.access_key = access_key or ""
        self.secret_key = secret_key or ""
        self.region = region or "us-east-1"
        self.token = token

    def __repr__(self):  # never show the secret
        return "Credentials(access_key=%r, region=%r)" % (self.access_key, self.region)


def sign_headers(creds, service, method, host, path, query, headers, payload_hash):
    """Add x-amz-date, x-amz-content-sha256 (S3), the token and Authorization to `headers`.

    `path` is the already URI-encoded request path; `query` a list of (name, value) pairs.
    """
    amz_date, datestamp = _timestamps()
    headers["Host"] = host
    headers["X-Amz-Date"] = amz_date
    if service == "s3":
        headers["X-Amz-Content-Sha256"] = payload_hash
    if creds.token:
        headers["X-Amz-Security-Token"] = creds.token
    canonical = {}
    for name, value in headers.items():
        canonical[name.lower()] = " ".join(str(value).split())
    signed = ";".join(sorted(canonical))
    canonical_headers = "".join("%s:%s\n" % (k, canonical[k]) for k in sorted(canonical))
    request = "\n".join(
        [method, path, _canonical_query(query), canonical_headers, signed, payload_hash]
    )
    scope = "%s/%s/%s/aws4_request" % (datestamp, creds.region, service)
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode("utf-8")).hexdigest()]
    )
    signature = _signature(creds.secret_key, datestamp, creds.region, service, to_sign)
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        creds.access_key,
        scope,
        signed,
        signature,
    )
    return headers


def presign_query(creds, service, method, host, path, query, expires):
    """The query string of a presigned URL (SigV4 query authentication, host header only)."""
    amz_date, datestamp = _timestamps()
    scope = "%s/%s/%s/aws4_request" % (datestamp, creds.region, service)
    params = list(query) + [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", "%s/%s" % (creds.access_key, scope)),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(int(expires))),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if creds.token:
        params.append(("X-Amz-Security-Token", creds.token))
    request = "\n".join(
        [method, path, _canonical_query(params), "host:%s\n" % host, "host", UNSIGNED]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode("utf-8")).hexdigest()]
    )
    signature = _signature(creds.secret_key, datestamp, creds.region, service, to_sign)
    return _canonical_query(params) + "&X-Amz-Signature=" + signature


def aws_from_environment(service):
    """Credentials and endpoint of `service` on AWS, from the usual AWS environment variables.

    The endpoint is the first of `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_S3`,
    `AWS_ENDPOINT_URL_DYNAMODB`) and `AWS_ENDPOINT_URL`, as the AWS SDKs read them (both ignored
    when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else `https://<service>.<region>.amazonaws.com`.
    Requests to it are path-style (`/<bucket>/<key>`), which S3 emulators expect too.
    """
    import os

    env = os.environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    creds = Credentials(
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
        region,
        env.get("AWS_SESSION_TOKEN"),
    )
    endpoint = None
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        endpoint = env.get("AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")) or env.get(
            "AWS_ENDPOINT_URL"
        )
    return creds, endpoint or "https://%s.%s.amazonaws.com" % (service, region)


def connect(scheme, host):
    """An HTTP(S) connection; http.client is imported on first use to keep the shims cheap."""
    import http.client

    cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = cls(host, timeout=60)
    # The profiler (faas_profiler_python) captures the shims' operations, not their HTTP calls.
    conn._sebs_shim = True
    return conn


def split_address(address, default_host):
    """(scheme, host[:port]) of `host:port` (plain HTTP, as SeBS writes it) or of a URL."""
    address = address or default_host
    if "://" in address:
        scheme, rest = address.split("://", 1)
        return scheme.lower(), rest.rstrip("/")
    return "http", address.rstrip("/")
