"""A loopback stand-in for the Azure side: the Entra token endpoint, Azure Resource Manager and
Microsoft Graph, over HTTPS on 127.0.0.1 with a self-signed certificate made at start.

Usage: azure_standin.py SCENARIO.json DIR

Writes DIR/ca.pem (the certificate to trust, e.g. through SSL_CERT_FILE) and DIR/requests.jsonl
(one line per request: method, path, query, the token audience it carried), then prints the port.
Resource Manager is served at the root, Graph under /graph, tokens at /<tenant>/oauth2/v2.0/token
(client-credentials grant with the scenario's `secret`).
The scenario maps routes to answers:

  {"oid": "<object id the tokens carry>",
   "routes": {"GET /subscriptions/<id>/providers/...": {"status": 200, "body": {...},
               "pages": [{...}, {...}],      # instead of body: served in turn, nextLink added
               "nextLinkHost": "localhost",  # the host nextLink names (default 127.0.0.1)
               "throttleFirst": true,        # first request answered 429 with Retry-After: 0
               "apiVersion": "2023-10-01-preview",   # required query api-version
               "filter": "assignedTo('<oid>')",      # required $filter
               "audience": "arm" | "graph",          # which token it needs
               "delayMs": 500}},                     # answer after this long (DIR/most_in_flight:
                                                     # the most such requests served at once)
   "secret": "<client secret the token endpoint accepts>"}

A GET route may answer per $filter instead: {"audience": "graph", "byFilter": {"<filter>": {...answer...}}}.
A "POST <path>" route answers a Graph action (getMemberGroups) whose JSON body equals its "json".

Tokens are JWT-shaped (unsigned): `aud` is the scope's resource, `oid` the scenario's. A request
without a token of the right audience gets 401; a route not in the scenario gets 404 with an ARM
error body; a wrong api-version or $filter gets 400.
"""
import base64
import datetime
import ipaddress
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_cert(directory):
    """A CA (written to ca.pem, the certificate to trust) and a server certificate it signs for
    127.0.0.1 (webpki refuses a CA certificate used as the server's own)."""
    now = datetime.datetime.now(datetime.timezone.utc)

    def build(subject, issuer, public_key, signing_key, ca):
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                             x509.DNSName("localhost")]), critical=False)
        return b.sign(signing_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "defender-prereqs stand-in CA")])
    ca = build(ca_name, ca_name, ca_key.public_key(), ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name, key.public_key(), ca_key, False)
    ca_path = os.path.join(directory, "ca.pem")
    cert_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "key.pem")
    with open(ca_path, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def main():
    scenario_path, directory = sys.argv[1], sys.argv[2]
    with open(scenario_path) as f:
        scenario = json.load(f)
    routes = scenario["routes"]
    state = {"served": {}, "lock": threading.Lock(), "inflight": 0, "most": 0}
    log = open(os.path.join(directory, "requests.jsonl"), "a", buffering=1)
    cert_path, key_path = make_cert(directory)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body, headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def audience(self):
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                return None
            try:
                payload = auth[7:].split(".")[1]
                payload += "=" * (-len(payload) % 4)
                return json.loads(base64.urlsafe_b64decode(payload))["aud"]
            except Exception:
                return "malformed"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            url = urlsplit(self.path)
            route = routes.get("POST " + url.path)
            if route is not None:
                # A Graph action (getMemberGroups): the JSON body must be the route's `json`.
                aud = self.audience()
                log.write(json.dumps({"method": "POST", "path": url.path, "audience": aud}) + "\n")
                if aud != "https://127.0.0.1:%d/graph" % self.server.server_port:
                    self.send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "wrong audience"}})
                    return
                if "json" in route and json.loads(raw or "null") != route["json"]:
                    self.send(400, {"error": {"code": "BadRequest", "message": "unexpected body"}})
                    return
                self.send(route.get("status", 200), route["body"])
                return
            form = parse_qs(raw)
            scope = form.get("scope", [""])[0]
            log.write(json.dumps({"method": "POST", "path": url.path, "scope": scope,
                                  "grantType": form.get("grant_type", [""])[0]}) + "\n")
            if not url.path.endswith("/oauth2/v2.0/token") or form.get("client_secret", [""])[0] != scenario.get("secret"):
                self.send(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
                return
            resource = scope[: -len("/.default")] if scope.endswith("/.default") else scope
            token = ".".join([b64({"alg": "none", "typ": "JWT"}),
                              b64({"aud": resource, "oid": scenario["oid"], "tid": scenario.get("tenant", "")}),
                              "c2lnbmF0dXJl"])
            self.send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                            "access_token": token})

        def do_GET(self):
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            aud = self.audience()
            key = "GET " + url.path
            log.write(json.dumps({"method": "GET", "path": url.path, "query": {k: v[0] for k, v in query.items()},
                                  "audience": aud}) + "\n")
            route = routes.get(key)
            if route is None:
                self.send(404, {"error": {"code": "ResourceNotFound", "message": "not in the scenario"}})
                return
            base = "https://127.0.0.1:%d" % self.server.server_port
            expected = base + ("/graph" if route.get("audience") == "graph" else "")
            if aud != expected:
                self.send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "wrong audience"}})
                return
            if "apiVersion" in route and query.get("api-version", [""])[0] != route["apiVersion"]:
                self.send(400, {"error": {"code": "InvalidApiVersionParameter", "message": "unsupported"}})
                return
            if "filter" in route and query.get("$filter", [""])[0] != route["filter"]:
                self.send(400, {"error": {"code": "BadRequest", "message": "unexpected $filter"}})
                return
            if "byFilter" in route:
                # One answer per $filter (the same list read for several principals).
                route = route["byFilter"].get(query.get("$filter", [""])[0])
                if route is None:
                    self.send(400, {"error": {"code": "BadRequest", "message": "unexpected $filter"}})
                    return
                key = key + " " + query.get("$filter", [""])[0]
            with state["lock"]:
                n = state["served"].get(key, 0)
                state["served"][key] = n + 1
            if "delayMs" in route:
                # A slow answer; DIR/most_in_flight holds the most slow requests served at once.
                with state["lock"]:
                    state["inflight"] += 1
                    state["most"] = max(state["most"], state["inflight"])
                    with open(os.path.join(directory, "most_in_flight"), "w") as f:
                        f.write(str(state["most"]))
                time.sleep(route["delayMs"] / 1000)
                with state["lock"]:
                    state["inflight"] -= 1
            if route.get("throttleFirst") and n == 0:
                self.send(429, {"error": {"code": "TooManyRequests", "message": "throttled"}}, [("Retry-After", "0")])
                return
            if "pages" in route:
                page = int(query.get("page", ["0"])[0])
                body = dict(route["pages"][page])
                if page + 1 < len(route["pages"]):
                    nxt = dict((k, v[0]) for k, v in query.items())
                    nxt["page"] = str(page + 1)
                    host = route.get("nextLinkHost", "127.0.0.1")
                    link = "https://%s:%d%s?%s" % (host, self.server.server_port, url.path, urlencode(nxt))
                    body["@odata.nextLink" if route.get("audience") == "graph" else "nextLink"] = link
                self.send(route.get("status", 200), body)
                return
            self.send(route.get("status", 200), route["body"])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
