"""Validates SAML Responses with python3-saml (OneLogin), an implementation independent of
idpsim's: signature, issuer, audience, destination, recipient, InResponseTo and validity window,
as an SP built on that library would. Reads a JSON document on stdin:

    {"idp_certificate": base64 DER, "sp_entity_id": ..., "acs_url": "http://HOST:PORT/PATH",
     "request_id": ..., "responses": {name: {"idp_entity_id": ..., "response": base64 XML}}}

and prints {name: "valid" | "<the library's error>"} as JSON.
"""

import json
import sys
from urllib.parse import urlparse

from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings


def settings_for(document, idp_entity_id):
    """The settings of an SP that trusts `idp_entity_id` with the document's certificate."""
    return OneLogin_Saml2_Settings(
        {
            "strict": True,
            "sp": {
                "entityId": document["sp_entity_id"],
                "assertionConsumerService": {
                    "url": document["acs_url"],
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                },
            },
            "idp": {
                "entityId": idp_entity_id,
                "singleSignOnService": {
                    "url": "http://127.0.0.1/sso",
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                },
                "x509cert": document["idp_certificate"],
            },
            "security": {"rejectDeprecatedAlgorithm": True},
        },
        sp_validation_only=True,
    )


def main():
    document = json.load(sys.stdin)
    acs = urlparse(document["acs_url"])
    request = {
        "https": "on" if acs.scheme == "https" else "off",
        "http_host": acs.netloc,
        "script_name": acs.path,
    }
    results = {}
    for name, check in document["responses"].items():
        settings = settings_for(document, check["idp_entity_id"])
        response = OneLogin_Saml2_Response(settings, check["response"])
        try:
            valid = response.is_valid(request, document["request_id"], raise_exceptions=True)
            results[name] = "valid" if valid else str(response.get_error())
        except Exception as error:  # the library raises its validation errors
            results[name] = str(error)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
