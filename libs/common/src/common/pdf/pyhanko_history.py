"""pyHanko's view of earlier revisions, without a call per number: the same results, fewer steps.

The diff analysis behind every verification looks at each revision through a
``HistoricalResolver``. Three of its steps visit every value of every object, numbers included, and a
signed letter's fonts carry some 800 numbers in their width arrays:

- ``_subsume_object`` copies each object read in a revision, calling itself once per value, where a
  number, a name or a string is returned as it is. :func:`subsume_object` builds the same copies
  and keeps plain values without the call (after the same ``container_ref`` check).
- ``_load_reverse_xref_cache`` walks the whole object graph to record, for every indirect object,
  the paths that lead to it; a closure is called with a new path node for every value, and does
  nothing for anything but a reference, a dictionary or an array. :func:`load_reverse_xref_cache`
  is pyHanko 0.38.0's method with that call skipped for other values; everything else (the page
  tree and structure tree rules, the order of the walk, the paths recorded) is unchanged.

- ``_collect_indirect_references`` (the references an object depends on, for the orphan check)
  recurses into every value the same way; :func:`collect_indirect_references` skips the values it
  would return from at once.

Measured on the issued seed letter, these steps took about a third of ``verify_pdf``.
:func:`install` replaces the three methods only on the pyHanko version they were written against;
``libs/common/tests/pdf/test_pyhanko_parser.py`` compares them with pyHanko's on real files.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver, RawPdfPath

from common.pdf.pyhanko_parser import PYHANKO_VERSION, supported_pyhanko

__all__ = [
    "PYHANKO_VERSION",
    "collect_indirect_references",
    "install",
    "load_reverse_xref_cache",
    "original_collect_indirect_references",
    "original_load_reverse_xref_cache",
    "original_subsume_object",
    "subsume_object",
]

original_subsume_object = HistoricalResolver._subsume_object
original_load_reverse_xref_cache = HistoricalResolver._load_reverse_xref_cache
original_collect_indirect_references = HistoricalResolver._collect_indirect_references

_PLAIN = (
    generic.NumberObject,
    generic.FloatObject,
    generic.NameObject,
    generic.BooleanObject,
    generic.NullObject,
    generic.TextStringObject,
    generic.ByteStringObject,
)
"""Value types pyHanko's ``_subsume_object`` hands back unchanged (it has no branch for them)."""

_WALKED = (generic.IndirectObject, generic.DictionaryObject, generic.ArrayObject)
"""The only values pyHanko's path walk does anything with."""


def _kept(value: Any) -> bool:
    """A plain value that pyHanko's method would return as it is (its container is an object's)."""
    return type(value) in _PLAIN and type(value.container_ref) is generic.Reference


def subsume_object(self: HistoricalResolver, obj: Any) -> Any:
    """``HistoricalResolver._subsume_object``: a copy of ``obj`` whose references resolve in ``self``."""
    container_ref = obj.get_container_ref()
    own_ref = generic.Reference(idnum=container_ref.idnum, generation=container_ref.generation, pdf=self)
    if isinstance(obj, generic.DecryptedObjectProxy):
        return original_subsume_object(self, obj)
    if isinstance(obj, generic.IndirectObject):
        return generic.IndirectObject(idnum=obj.idnum, generation=obj.generation, pdf=self)
    if not isinstance(obj, (generic.DictionaryObject, generic.ArrayObject)):
        return obj
    result: Any
    if isinstance(obj, generic.DictionaryObject):
        data = {k: v if _kept(v) else subsume_object(self, v) for k, v in obj.items()}
        if isinstance(obj, generic.StreamObject):
            result = generic.StreamObject(data, encoded_data=obj.encoded_data)
        else:
            result = generic.DictionaryObject(data)
    else:
        result = generic.ArrayObject([v if _kept(v) else subsume_object(self, v) for v in obj])
    result.container_ref = own_ref
    return result


def collect_indirect_references(
    self: HistoricalResolver, obj: Any, seen: set[generic.Reference], since_revision: int | None = None
) -> None:
    """``HistoricalResolver._collect_indirect_references`` without a call for values other than a
    reference, a dictionary or an array (for which pyHanko's method does nothing)."""
    if isinstance(obj, generic.IndirectObject):
        ref = obj.reference
        if ref in seen:
            return
        relevant = since_revision is None or self.reader.xrefs.get_introducing_revision(ref) >= since_revision
        if relevant:
            seen.add(ref)
        elif since_revision is not None:
            return
        obj = self(ref)
    if isinstance(obj, generic.DictionaryObject):
        for v in obj.values():
            if isinstance(v, _WALKED):
                collect_indirect_references(self, v, seen, since_revision)
    elif isinstance(obj, generic.ArrayObject):
        for v in obj:
            if isinstance(v, _WALKED):
                collect_indirect_references(self, v, seen, since_revision)


def load_reverse_xref_cache(self: HistoricalResolver) -> None:
    """``HistoricalResolver._load_reverse_xref_cache`` of pyHanko 0.38.0 (MIT licence), without a call
    for values the walk ignores."""
    if self._indirect_object_access_cache is not None:
        return

    collected: defaultdict[generic.Reference, set[Any]] = defaultdict(set)

    def _compute_paths_to_refs(
        obj: Any,
        cur_path: misc.ConsList[Any],
        seen_in_path: misc.ConsList[Any],
        *,
        page_tree_objs: dict[generic.Reference, Any],
        is_struct_tree: bool,
        struct_tree_objs: set[generic.Reference],
    ) -> None:
        if isinstance(obj, generic.IndirectObject):
            obj_ref = obj.reference
            if obj_ref in seen_in_path:
                return
            collected[obj_ref].add(cur_path)
            seen_in_path = seen_in_path.cons(obj_ref)
            obj = self(obj_ref)
            canonical_path = page_tree_objs.get(obj_ref, cur_path)
            if cur_path != canonical_path:
                return
            if not is_struct_tree and obj_ref in struct_tree_objs:
                return
        if isinstance(obj, generic.DictionaryObject):
            for k, v in obj.items():
                if k == "/Parent" or (is_struct_tree and k == "/P"):
                    continue
                if not isinstance(v, _WALKED):
                    continue
                _compute_paths_to_refs(
                    v,
                    cur_path.cons(k),
                    seen_in_path,
                    page_tree_objs=page_tree_objs,
                    is_struct_tree=is_struct_tree
                    or (
                        cur_path.head == "/StructTreeRoot"
                        and k == "/K"
                        and cur_path.tail == misc.ConsList.sing("/Root")
                    ),
                    struct_tree_objs=struct_tree_objs,
                )
        elif isinstance(obj, generic.ArrayObject):
            for ix, v in enumerate(obj):
                if not isinstance(v, _WALKED):
                    continue
                _compute_paths_to_refs(
                    v,
                    cur_path.cons(ix),
                    seen_in_path,
                    page_tree_objs=page_tree_objs,
                    is_struct_tree=is_struct_tree,
                    struct_tree_objs=struct_tree_objs,
                )

    def _collect_page_tree_refs(pages_obj: Any, path: misc.ConsList[Any]) -> Any:
        for ix, kid in enumerate(pages_obj["/Kids"]):
            kid_path = path.cons("/Kids").cons(ix)
            if isinstance(kid, generic.IndirectObject):
                yield kid.reference, kid_path
            kid = kid.get_object()
            if kid.get("/Type", None) == "/Pages":
                yield from _collect_page_tree_refs(kid, kid_path)

    def _collect_struct_tree_refs(struct_elem: Any) -> Any:
        try:
            children = struct_elem["/K"]
        except KeyError:
            return
        if not isinstance(children, generic.ArrayObject):
            children = (children,)
        for child in children:
            child_ref = None
            if isinstance(child, generic.IndirectObject):
                child_ref = child.reference
                child = child.get_object()
            if not isinstance(child, generic.DictionaryObject):
                continue
            try:
                if child["/Type"] != "/StructElem":
                    continue
            except KeyError:
                pass
            if child_ref is not None:
                yield child_ref
            yield from _collect_struct_tree_refs(child)

    pages_ref = self.root.raw_get("/Pages")
    pages_path = misc.ConsList.sing("/Root").cons("/Pages")
    page_tree_nodes = {}
    if isinstance(pages_ref, generic.IndirectObject):
        page_tree_nodes[pages_ref.reference] = pages_path
    for ref, path in _collect_page_tree_refs(pages_ref.get_object(), pages_path):
        if ref in page_tree_nodes:
            raise misc.PdfReadError("Circular reference in page tree in mapping stage")
        page_tree_nodes[ref] = path
    struct_tree_nodes = set()
    try:
        struct_tree_root_ref = self.root.raw_get("/StructTreeRoot")
        struct_tree_root = struct_tree_root_ref.get_object()
        for ref in _collect_struct_tree_refs(struct_tree_root):
            if ref in struct_tree_nodes:
                raise misc.PdfReadError("Circular reference in structure tree in mapping stage")
            struct_tree_nodes.add(ref)
    except KeyError:
        pass
    _compute_paths_to_refs(
        self.trailer_view,
        misc.ConsList.empty(),
        misc.ConsList.empty(),
        page_tree_objs=page_tree_nodes,
        is_struct_tree=False,
        struct_tree_objs=struct_tree_nodes,
    )

    self._indirect_object_access_cache = {
        ref: {RawPdfPath(*reversed(list(p))) for p in paths} for ref, paths in collected.items()
    }


def install() -> bool:
    """Replace the three methods if the installed pyHanko is :data:`PYHANKO_VERSION` (idempotent).

    Returns:
        Whether they are installed; on another pyHanko release its own methods stay.
    """
    if not supported_pyhanko():
        return False
    HistoricalResolver._subsume_object = subsume_object  # type: ignore[method-assign]
    HistoricalResolver._load_reverse_xref_cache = load_reverse_xref_cache  # type: ignore[method-assign]
    HistoricalResolver._collect_indirect_references = collect_indirect_references  # type: ignore[method-assign]
    return True
