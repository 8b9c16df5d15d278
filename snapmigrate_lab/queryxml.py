"""Answers the lab makes itself, in the query protocol's XML, shaped by
botocore's model of the operation (result wrapper, member and list element
names, booleans, timestamps), so botocore parses them exactly as AWS's own.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from snapmigrate_lab.wire import Response, service_model, xml_namespace


def render(service: str, operation: str, result: Mapping[str, Any]) -> Response:
    """The HTTP 200 answer of ``operation`` carrying ``result`` (API member names)."""
    model = service_model(service)
    op = model.operation_model(operation)
    root = ET.Element(f"{operation}Response", {"xmlns": xml_namespace(model)})
    shape = op.output_shape
    wrapper = shape.serialization.get("resultWrapper") if shape is not None else None
    parent = ET.SubElement(root, wrapper) if wrapper else root
    if shape is not None:
        _structure(parent, shape, result)
    meta = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(meta, "RequestId").text = str(uuid.uuid4())
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    headers = (("Content-Type", "text/xml"), ("Content-Length", str(len(body))))
    return Response(200, headers, body)


def _structure(el: ET.Element, shape: Any, data: Mapping[str, Any]) -> None:
    for name, member in shape.members.items():
        if name in data and data[name] is not None:
            _value(el, member.serialization.get("name", name), member, data[name])


def _value(parent: ET.Element, tag: str, shape: Any, value: Any) -> None:
    if shape.type_name == "list":
        item_tag = shape.member.serialization.get("name", "member")
        if shape.serialization.get("flattened"):
            for item in value:
                _value(parent, item_tag, shape.member, item)
            return
        container = ET.SubElement(parent, tag)
        for item in value:
            _value(container, item_tag, shape.member, item)
        return
    child = ET.SubElement(parent, tag)
    if shape.type_name == "structure":
        _structure(child, shape, value)
    elif shape.type_name == "boolean":
        child.text = "true" if value else "false"
    elif shape.type_name == "timestamp":
        child.text = value if isinstance(value, str) else value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    else:
        child.text = str(value)
