"""A hardened XML reader for diagrams: no DTDs, no entities, no network, bounded size."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree  # its C14N 2.0 writer rewrites namespace prefixes; lxml's does not
from typing import Any

from lxml import etree

from app.engine import xml_errors
from app.engine.errors import DiagramProblem, DiagramRejected
from app.engine.said import said

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"  # Camunda 7's extensions (and, read as them, Activiti's and Flowable's)
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"  # Camunda 8's
DMN_NAMESPACES = frozenset({
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
})
# Namespaces Camunda 7 reads as another's (its DMN model's "alternative namespaces"): DMN 1.1 as Camunda 7.4.0
# released it, which Camunda Modeler wrote for years, and DMN 1.3 as Camunda 7.13.0 released it. A file in one
# is read in the other; so is DMN 1.1 as Flowable and, before it, Activiti named it.
ALTERNATIVE_NAMESPACES = {
    b"http://www.omg.org/spec/DMN/20151101/dmn11.xsd": b"http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    b"https://www.omg.org/spec/DMN/20191111/DMN13.xsd": b"https://www.omg.org/spec/DMN/20191111/MODEL/",
    # DMN 1.1 as Flowable writes it, without the schema's file name (quoted: it begins the others)
    b'"http://www.omg.org/spec/DMN/20151101"': b'"http://www.omg.org/spec/DMN/20151101/dmn.xsd"',
    b'"http://www.omg.org/spec/DMN/20151130"': b'"http://www.omg.org/spec/DMN/20151101/dmn.xsd"',  # Activiti's
}
DEFAULT_MAX_BYTES = 2 * 1024 * 1024


class _NoExternalResources(etree.Resolver):
    """Answers every external DTD or entity with nothing: libxml2 still opens a DOCTYPE's external
    subset from local files when the declaration slips past the byte check (UTF-16, say)."""

    def resolve(self, system_url, public_id, context) -> Any:  # noqa: ANN001 - lxml's untyped Resolver hook
        return self.resolve_string("", context)


def _parser() -> etree.XMLParser:
    # A parser per call: lxml parsers are not thread-safe.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_pis=True, collect_ids=False,
    )
    parser.resolvers.add(_NoExternalResources())
    return parser


def _refuse(filename: str, reason: str, line: int | None = None) -> DiagramRejected:
    return DiagramRejected([DiagramProblem(filename, None, reason, line)])


def read_xml(data: bytes, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted diagram bytes; anything hostile or malformed is refused with a reason."""
    if not isinstance(data, bytes):
        raise TypeError("diagram content must be bytes")
    if len(data) > max_bytes:
        raise _refuse(filename, said("file is %(size)d bytes, larger than the limit of %(limit)s",
                                     size=len(data), limit=max_bytes))
    if not data.strip():
        raise _refuse(filename, said("file is empty"))
    lowered = data.lower()
    # Refuse before libxml2 sees a DTD at all: entity bombs and external entities live there.
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise _refuse(filename, said("DOCTYPE and ENTITY declarations are not allowed in diagrams"))
    for alternative, namespace in ALTERNATIVE_NAMESPACES.items():
        if alternative in data:
            data = data.replace(alternative, namespace)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _refuse(filename, said("malformed XML: %(why)s", why=xml_errors.said_of(exc.msg)), exc.lineno) from None
    if root is None:
        raise _refuse(filename, said("malformed XML: no root element"))
    if root.getroottree().docinfo.doctype:
        raise _refuse(filename, said("DOCTYPE declarations are not allowed in diagrams"))
    return root


def diagram_kind(root: etree._Element, filename: str) -> str:
    """'bpmn' or 'dmn', judged by the root element, or refuse the document."""
    qname = etree.QName(root)
    if qname.localname == "definitions" and qname.namespace == BPMN_NS:
        return "bpmn"
    if qname.localname == "definitions" and qname.namespace in DMN_NAMESPACES:
        return "dmn"
    raise _refuse(filename, said("not a BPMN or DMN document (root element %(root)s)", root=qname.text))


def drop_comments(root: etree._Element) -> None:
    """Remove XML comments from `root` in place, keeping the text around them (a comment inside a
    script splits its text; SpiffWorkflow's task parsers take a comment among a task's children for an
    element and fail). A comment carries no meaning in BPMN or DMN."""
    for comment in root.xpath("//comment()"):
        parent, tail = comment.getparent(), comment.tail or ""
        if parent is None:
            continue
        previous = comment.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(comment)


def source_line(node: etree._Element) -> int | None:
    """The line of the file an element starts on (None for one the import layer added)."""
    return node.sourceline if isinstance(node.sourceline, int) else None


def new_element(parent: etree._Element, tag: str, index: int | None = None,
                **attributes: str | None) -> etree._Element:
    """A new BPMN element `tag` in `parent` (at `index`, else last), with the attributes that are not None."""
    node = etree.Element(f"{{{BPMN_NS}}}{tag}", {k: v for k, v in attributes.items() if v is not None})
    if index is None:
        parent.append(node)
    else:
        parent.insert(index, node)
    return node


def unique_id(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3`... : the first not in `taken` (the ids of the file), which it joins."""
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def extension_elements(element: etree._Element) -> etree._Element:
    """The element's `bpmn:extensionElements`, made if it has none (after its documentation, as BPMN orders
    them): where the import writes what SpiffWorkflow's parser reads (properties, operators, scripts...)."""
    found = element.find(f"{{{BPMN_NS}}}extensionElements")
    if found is not None:
        return found
    made = etree.Element(f"{{{BPMN_NS}}}extensionElements")
    docs = element.findall(f"{{{BPMN_NS}}}documentation")
    element.insert(element.index(docs[-1]) + 1 if docs else 0, made)
    return made


# A drawing's shapes and edges: an editor writes them in its own order (bpmn-js in the order it draws them),
# which says nothing; they are compared sorted by the element each one draws.
_DRAWING_LISTS = frozenset({"BPMNPlane", "DMNDiagram"})
# Attributes the standards give a default, which an editor leaves out when they hold it (dmn-js drops a
# decision table's hitPolicy="UNIQUE"): (element, attribute) -> the default, compared as absent.
_DEFAULTS = {("decisionTable", "hitPolicy"): "UNIQUE", ("decisionTable", "preferredOrientation"): "Rule-as-Row",
             ("boundaryEvent", "cancelActivity"): "true", ("startEvent", "isInterrupting"): "true",
             ("subProcess", "triggeredByEvent"): "false", ("multiInstanceLoopCharacteristics", "isSequential"): "false"}


def same_content(first: bytes, second: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> bool:
    """Whether two diagram files say the same: alike but for what an editor changes when it writes back a file it
    opened (bpmn-js, dmn-js): the layout of the text, the order of attributes, comments, the namespaces'
    prefixes, the order of the drawing's shapes and an attribute written or left out at its default. A file that does not read is the same as nothing."""
    if first == second:
        return True
    try:
        return _canonical(first, max_bytes) == _canonical(second, max_bytes)
    except DiagramRejected:
        return False


def _canonical(data: bytes, max_bytes: int) -> str:
    root = read_xml(data, "", max_bytes)
    drop_comments(root)
    for node in list(root.iter(etree.Element)):
        kind = etree.QName(node).localname
        for (element, attribute), default in _DEFAULTS.items():
            if kind == element and node.get(attribute) == default:
                del node.attrib[attribute]
        if kind in _DRAWING_LISTS:
            node[:] = sorted(node, key=lambda shape: (
                str(shape.tag), shape.get("bpmnElement") or shape.get("dmnElementRef") or "", shape.get("id") or ""))
    return ElementTree.canonicalize(etree.tostring(root), strip_text=True, rewrite_prefixes=True)
