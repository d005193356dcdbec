"""One calling convention over the three official Python clients.

`call(action, params)` takes the API's own parameter names (`RegionId`, `Tag=[{Key, Value}]`,
...) and builds the request with each SDK's own request classes:

* `v3`: `alibabacloud-ecs20140526` with its default ACS3-HMAC-SHA256 signature;
* `v1`: the same SDK with `signature_algorithm='v2'` (HMAC-SHA1, signature V1);
* `legacy`: `aliyun-python-sdk-ecs` on `aliyun-python-sdk-core` (V1).

It returns the body as the SDK deserialised it, in wire names (`to_map()` of the SDK's response
model; for the legacy SDK, which hands back bytes, the parsed JSON), and raises `ApiError` with
the code the SDK reports.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from dataclasses import dataclass
from typing import Any


@dataclass
class ApiError(Exception):
    code: str
    status: int | None
    message: str
    request_id: str | None
    sdk_exception: BaseException

    def __str__(self):
        return f"{self.code} (HTTP {self.status}): {self.message}"


@dataclass
class Result:
    body: dict
    model: Any  # the SDK's response body model (None for the legacy SDK)
    status: int | None


def check_declared_types(model, path: str = "") -> None:
    """Asserts that every field the server sent has the type the SDK model declares.

    The Python SDK keeps values as they arrive (reference §1.9), so this walks the deserialised
    model and compares each value with the annotation of its constructor parameter
    (`size: int`, `is_copied: bool`, `memory_size: float`, `List[...]`, nested models).
    """
    from darabonba.model import DaraModel

    params = inspect.signature(type(model).__init__).parameters
    for name, param in params.items():
        if name == "self":
            continue
        value = getattr(model, name, None)
        if value is None:
            continue
        _check_value(value, str(param.annotation), f"{path}.{name}" if path else name, DaraModel)


def _check_value(value, ann: str, path: str, DaraModel) -> None:
    ann = ann.strip("'\"")
    if ann == "str":
        ok = isinstance(value, str)
    elif ann == "int":
        ok = type(value) is int
    elif ann == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif ann == "bool":
        ok = isinstance(value, bool)
    elif ann.startswith("List["):
        assert isinstance(value, list), f"{path}: declared {ann}, got {value!r}"
        for i, item in enumerate(value):
            _check_value(item, ann[5:-1], f"{path}[{i}]", DaraModel)
        return
    elif ann.startswith("main_models."):
        assert isinstance(value, DaraModel), f"{path}: declared {ann}, got {value!r}"
        check_declared_types(value, path)
        return
    else:
        return  # Dict[...], Any: not checked
    assert ok, f"{path}: the SDK declares {ann}, the server sent {value!r}"


def snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


class NewSdk:
    """`alibabacloud-ecs20140526` (tea-openapi)."""

    def __init__(self, endpoint: str, ak: str, secret: str, signature: str):
        from alibabacloud_ecs20140526.client import Client
        from alibabacloud_tea_openapi import utils_models as om

        self.name = signature
        cfg = om.Config(
            access_key_id=ak,
            access_key_secret=secret,
            endpoint=endpoint,
            protocol="http",
            region_id="cn-hangzhou",
            connect_timeout=5000,
            read_timeout=20000,
        )
        if signature == "v1":
            cfg.signature_algorithm = "v2"  # tea-openapi's name for signature V1
        self.client = Client(cfg)

    def call(self, action: str, params: dict) -> Result:
        from alibabacloud_ecs20140526 import models
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

        request = getattr(models, f"{action}Request")().from_map(params)
        try:
            resp = getattr(self.client, snake(action))(request)
        except AlibabaCloudException as e:
            raise ApiError(e.code, e.status_code, e.message, e.request_id, e) from e
        assert resp.status_code == 200, resp.status_code
        check_declared_types(resp.body)
        return Result(resp.body.to_map(), resp.body, resp.status_code)


class LegacySdk:
    """`aliyun-python-sdk-ecs` + `aliyun-python-sdk-core`."""

    name = "legacy"

    def __init__(self, endpoint: str, ak: str, secret: str):
        self.endpoint, self.ak, self.secret = endpoint, ak, secret
        self.clients = {}

    def _client(self, region: str):
        from aliyunsdkcore.client import AcsClient

        if region not in self.clients:
            self.clients[region] = AcsClient(
                self.ak,
                self.secret,
                region,
                auto_retry=False,
                connect_timeout=5,
                timeout=20,
            )
        return self.clients[region]

    def call(self, action: str, params: dict) -> Result:
        from aliyunsdkcore.acs_exception.exceptions import ServerException

        mod = importlib.import_module(f"aliyunsdkecs.request.v20140526.{action}Request")
        request = getattr(mod, f"{action}Request")()
        request.set_endpoint(self.endpoint)
        request.set_protocol_type("http")
        request.set_accept_format("JSON")
        region = "cn-hangzhou"
        for key, value in params.items():
            if key == "RegionId":  # the legacy SDK takes the region from the client
                region = value
            elif isinstance(value, list):
                getattr(request, f"set_{key}s")(value)
            else:
                getattr(request, f"set_{key}")(value)
        try:
            raw = self._client(region).do_action_with_exception(request)
        except ServerException as e:
            raise ApiError(
                e.get_error_code(), e.get_http_status(), e.get_error_msg(), e.get_request_id(), e
            ) from e
        body = json.loads(raw)
        # The raw JSON against the types the current SDK's model declares.
        from alibabacloud_ecs20140526 import models

        check_declared_types(getattr(models, f"{action}ResponseBody")().from_map(body))
        return Result(body, None, 200)


CLIENT_KINDS = ("v3", "v1", "legacy")


def make_client(kind: str, endpoint: str, ak: str = "testak", secret: str = "testsecret"):
    if kind == "legacy":
        return LegacySdk(endpoint, ak, secret)
    return NewSdk(endpoint, ak, secret, kind)
