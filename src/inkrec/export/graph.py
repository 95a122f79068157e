"""Edits of an exported graph: the embedding output, and new class heads on it.

Every inkrec model ends in one linear layer (Gemm, or MatMul + Add) over the penultimate features. Its input
is what the model knows about a drawing beyond its own labels: normalised to unit length, it is the
`embedding` output that teaching, the open-set score and the page work from. The edits are made on the ONNX
graph itself, not on torch, so that a file shipped before the output existed (the bundled int8 models among
them) gains it without its weights, or anyone's training run, being at hand.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from inkrec.errors import DataFormatError

__all__ = ["EMBEDDING", "LOGITS", "add_embedding", "embedding_size", "has_embedding", "replace_head", "set_head"]

LOGITS = "logits"
EMBEDDING = "embedding"
_EPS = 1e-12
# nodes that carry the logits unchanged from the classifier to the output (int8 graphs add a Q/DQ pair)
_PASS_THROUGH = {"QuantizeLinear", "DequantizeLinear", "Identity", "Cast"}


def has_embedding(model: onnx.ModelProto) -> bool:
    return any(o.name == EMBEDDING for o in model.graph.output)


def _producers(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in model.graph.node for out in node.output}


def _classifier(model: onnx.ModelProto, where: str) -> tuple[str, list[onnx.NodeProto]]:
    """(the classifier's input features, the nodes from the classifier to the logits output)."""
    producers = _producers(model)
    name, chain = LOGITS, []
    if LOGITS not in {o.name for o in model.graph.output}:
        raise DataFormatError(where, "the graph has no 'logits' output")
    while name in producers:
        node = producers[name]
        chain.append(node)
        if node.op_type == "Gemm":
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("transA", 0):
                break
            return node.input[0], chain
        if node.op_type == "Add":
            mm = next((producers.get(i) for i in node.input if i in producers
                       and producers[i].op_type == "MatMul"), None)
            if mm is not None:
                chain.append(mm)
                return mm.input[0], chain
            break
        if node.op_type not in _PASS_THROUGH:
            break
        name = node.input[0]
    raise DataFormatError(where, "cannot find the final linear layer (Gemm or MatMul + Add) before 'logits'")


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)


def _normalise(model: onnx.ModelProto, features: str, out: str) -> list[onnx.NodeProto]:
    """Nodes that write `features / max(||features||, eps)` (along axis 1) to `out`."""
    g = model.graph
    taken = {t for node in g.node for t in (*node.input, *node.output)} | {i.name for i in g.initializer}
    # every name is checked: an optimiser may have given the model's own constants these names (int8 files)
    suffixes = ("_l2", "_l2_floor", "_eps", "_axes")
    stem = next(f"{out}{k or ''}" for k in range(10_000) if not {f"{out}{k or ''}{x}" for x in suffixes} & taken)
    norm, floor, eps, axes = f"{stem}_l2", f"{stem}_l2_floor", f"{stem}_eps", f"{stem}_axes"
    g.initializer.append(numpy_helper.from_array(np.array(_EPS, dtype=np.float32), eps))
    if _opset(model) >= 18:
        g.initializer.append(numpy_helper.from_array(np.array([1], dtype=np.int64), axes))
        reduce = helper.make_node("ReduceL2", [features, axes], [norm], keepdims=1)
    else:
        reduce = helper.make_node("ReduceL2", [features], [norm], axes=[1], keepdims=1)
    return [
        reduce,
        helper.make_node("Max", [norm, eps], [floor]),
        helper.make_node("Div", [features, floor], [out]),
    ]


def add_embedding(model: onnx.ModelProto, where: str = "<model>") -> onnx.ModelProto:
    """`model` with a second output `embedding`: the classifier's input features, L2-normalised (a no-op
    when it has one already). Edits `model` in place and returns it."""
    if has_embedding(model):
        return model
    features, _ = _classifier(model, where)
    model.graph.node.extend(_normalise(model, features, EMBEDDING))
    model.graph.output.append(helper.make_tensor_value_info(EMBEDDING, TensorProto.FLOAT, ["batch", None]))
    return model


def embedding_size(model: onnx.ModelProto, where: str = "<model>") -> int | None:
    """The embedding's width, read from the classifier's weight (None when the graph does not say)."""
    _, chain = _classifier(model, where)
    inits = {i.name: i for i in model.graph.initializer}
    node = chain[-1]
    weight = node.input[1]
    producers = _producers(model)
    while weight not in inits and weight in producers and producers[weight].op_type in _PASS_THROUGH:
        weight = producers[weight].input[0]
    if weight not in inits:
        return None
    dims = list(inits[weight].dims)
    if node.op_type == "Gemm":
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        return int(dims[0] if attrs.get("transB", 0) == 0 else dims[1])
    return int(dims[0])


def replace_head(model: onnx.ModelProto, weight: np.ndarray, bias: np.ndarray, *, scale: float,
                 keep_base: bool, where: str = "<model>") -> onnx.ModelProto:
    """`model` whose `logits` are its own (when `keep_base`) followed by `scale * embedding @ weight.T + bias`.

    The new classes read the normalised embedding (a cosine classifier), the same arithmetic the page
    does in the browser with the embedding output, so a class taught in either place scores the same.
    """
    add_embedding(model, where)
    g = model.graph
    weight = np.asarray(weight, dtype=np.float32)
    bias = np.asarray(bias, dtype=np.float32)
    # a taught model can be taught again: every round's tensors get their own names
    taken = {t for node in g.node for t in (*node.input, *node.output)} | {i.name for i in g.initializer}
    k = next(i for i in range(1, 10_000) if f"taught{i}_logits" not in taken)
    w_name, b_name, new_out, base_out = (f"taught{k}_weight", f"taught{k}_bias", f"taught{k}_logits",
                                         f"base{k}_logits")
    g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight.T * np.float32(scale)), w_name))
    g.initializer.append(numpy_helper.from_array(bias, b_name))
    new = helper.make_node("Gemm", [EMBEDDING, w_name, b_name], [new_out])
    for node in g.node:
        node.output[:] = [base_out if o == LOGITS else o for o in node.output]
        node.input[:] = [base_out if i == LOGITS else i for i in node.input]
    g.node.append(new)
    if keep_base:
        g.node.append(helper.make_node("Concat", [base_out, new_out], [LOGITS], axis=1))
    else:
        g.node.append(helper.make_node("Identity", [new_out], [LOGITS]))
    for out in g.output:
        if out.name == LOGITS:
            out.CopyFrom(helper.make_tensor_value_info(LOGITS, TensorProto.FLOAT, ["batch", None]))
    # drop the stale shape of the old logits (it now names an inner tensor)
    keep = [v for v in g.value_info if v.name not in (LOGITS, base_out)]
    del g.value_info[:]
    g.value_info.extend(keep)
    return model


def set_head(model: onnx.ModelProto, weight: np.ndarray, bias: np.ndarray, where: str = "<model>") -> onnx.ModelProto:
    """`model` whose `logits` are `embedding @ weight.T + bias` alone: its own classifier is replaced (and
    dropped from the graph, with every node and constant only it used)."""
    replace_head(model, weight, bias, scale=1.0, keep_base=False, where=where)
    _prune(model)
    return model


def _prune(model: onnx.ModelProto) -> None:
    """Drop the nodes no output needs, then the constants no node reads."""
    g = model.graph
    needed = {o.name for o in g.output}
    keep = []
    for node in reversed(g.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    keep.reverse()
    del g.node[:]
    g.node.extend(keep)
    used = {i for node in g.node for i in node.input}
    inits = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(inits)
    info = [v for v in g.value_info if v.name in needed]
    del g.value_info[:]
    g.value_info.extend(info)
