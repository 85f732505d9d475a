"""A small builder over ``onnx.helper``: unique names, weights as initializers, opset-aware ops.

Every exporter in this package writes nodes through one :class:`Graph`, so names never clash
and each op is written in the form its opset wants (``axes`` as an input from opset 13 for
Squeeze/Unsqueeze/ReduceSum, from 18 for the other reductions)::

    g = Graph(opset=17)
    x = g.input("x", np.float32, ["B", 3])
    y = g.op("Add", g.op("MatMul", x, g.const(w.T)), g.const(b))     # (B, O)
    g.output(y, "y", np.float32, ["B", O])
    model = g.model()                                                 # onnx.ModelProto

``onnx`` is imported when a Graph is made, never when :mod:`rnnkit.export` is.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Graph", "MIN_OPSET", "MAX_OPSET", "DEFAULT_OPSET"]

MIN_OPSET, MAX_OPSET, DEFAULT_OPSET = 14, 21, 17

# the names of graph inputs and outputs; internal values never take them
PUBLIC_NAMES = frozenset({
    "input", "output", "lengths", "h0", "c0", "hx", "cx", "h", "c", "h_n", "c_n", "x", "y",
    "src", "tgt_in", "max_len", "logits", "ids", "X", "proba", "label", "prediction",
})


def _onnx():
    try:
        import onnx
    except ImportError as err:           # the optional extra is missing
        raise ImportError("rnnkit.export needs the 'onnx' package: pip install 'rnnkit[export]'") from err
    return onnx


class Graph:
    """Nodes, initializers, inputs and outputs of one ONNX graph (or a Loop/Scan body)."""

    def __init__(self, opset: int = DEFAULT_OPSET, name: str = "rnnkit", parent: Graph | None = None):
        self.onnx = _onnx()
        self.opset = opset
        self.name = name
        self.parent = parent
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self._names = parent._names if parent is not None else set()
        self._domains = parent._domains if parent is not None else {}
        self._consts = parent._consts if parent is not None else {}

    # -- names ----------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A name not used anywhere in this graph or its relatives (``hint``, ``hint_1``, ...)."""
        name, k = hint, 0
        while name in self._names or name in PUBLIC_NAMES:
            k += 1
            name = f"{hint}_{k}"
        self._names.add(name)
        return name

    def root(self) -> Graph:
        return self if self.parent is None else self.parent.root()

    # -- values ---------------------------------------------------------------------------
    def const(self, value, hint: str = "c", dtype=None) -> str:
        """``value`` as an initializer of the outermost graph (equal small constants are shared)."""
        a = np.asarray(value, dtype=dtype)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        key = (a.dtype.str, a.shape, a.tobytes()) if a.size <= 16 and a.dtype != object else None
        if key is not None and key in self._consts:
            return self._consts[key]
        name = self.fresh(hint)
        self.root().inits.append(self.onnx.numpy_helper.from_array(np.array(a, order="C"), name))
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values) -> str:
        """A 1-D int64 constant (shapes, axes, pads)."""
        return self.const(np.asarray(values, np.int64), "ints")

    def use_domain(self, domain: str, version: int) -> None:
        """Import an operator set besides ONNX's own (e.g. ``ai.onnx.ml`` for LabelEncoder)."""
        self._domains[domain] = version

    def _value_info(self, name, dtype, shape):
        dt = np.dtype(dtype)
        elem = (self.onnx.TensorProto.STRING if dt.kind in "OUS"
                else self.onnx.helper.np_dtype_to_tensor_dtype(dt))
        return self.onnx.helper.make_tensor_value_info(name, elem, shape)

    def input(self, name: str, dtype, shape, fresh: bool = False) -> str:
        """Declare an input; ``fresh`` makes a new name from ``name`` (for Loop / Scan bodies)."""
        if fresh:
            name = self.fresh(name)
        elif name in self._names:
            raise ValueError(f"graph input name {name!r} is already used")
        else:
            self._names.add(name)
        self.inputs.append(self._value_info(name, dtype, shape))
        return name

    def output(self, value: str, name: str, dtype, shape, fresh: bool = False) -> str:
        """Expose ``value`` as the output ``name`` (through an Identity when the names differ);
        ``fresh`` makes a new name from ``name``."""
        if fresh:
            name = self.fresh(name)
        if value != name:
            if not fresh and name in self._names:
                raise ValueError(f"graph output name {name!r} is already used")
            self._names.add(name)
            self.nodes.append(self.onnx.helper.make_node("Identity", [value], [name], name=self.fresh("Identity")))
        self.outputs.append(self._value_info(name, dtype, shape))
        return name

    # -- nodes ----------------------------------------------------------------------------
    def op(self, op_type: str, *inputs, n_out: int = 1, hint: str | None = None, **attrs):
        """Add a node; returns its output name (a list of names when ``n_out > 1``).

        ``None`` inputs become ONNX's empty name (an omitted optional input).
        """
        outs = [self.fresh(hint or op_type) for _ in range(n_out)]
        ins = ["" if i is None else i for i in inputs]
        while ins and ins[-1] == "":
            ins.pop()
        self.nodes.append(self.onnx.helper.make_node(op_type, ins, outs, name=self.fresh(op_type + "_node"), **attrs))
        return outs[0] if n_out == 1 else outs

    def body(self, name: str) -> Graph:
        """A subgraph (for Loop / Scan) sharing this graph's names and initializers."""
        return Graph(self.opset, name, parent=self)

    def graph_proto(self):
        h = self.onnx.helper
        return h.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits if self.parent is None else [])

    def model(self, doc: str = ""):
        h = self.onnx.helper
        opsets = [h.make_opsetid("", self.opset)] + [h.make_opsetid(d, v) for d, v in self._domains.items()]
        m = h.make_model(self.graph_proto(), opset_imports=opsets, producer_name="rnnkit",
                         ir_version=h.find_min_ir_version_for(opsets))
        m.doc_string = doc
        return m

    # -- ops whose form depends on the opset ------------------------------------------------
    def _axes_op(self, op_type: str, x: str, axes, since: int, **attrs) -> str:
        if self.opset >= since:
            return self.op(op_type, x, self.ints(axes), **attrs)
        return self.op(op_type, x, axes=list(axes), **attrs)

    def squeeze(self, x: str, axes) -> str:
        return self._axes_op("Squeeze", x, axes, 13)

    def unsqueeze(self, x: str, axes) -> str:
        return self._axes_op("Unsqueeze", x, axes, 13)

    def reduce(self, op_type: str, x: str, axes, keepdims: int = 0) -> str:
        """ReduceSum / ReduceMax / ReduceMean / ReduceMin over ``axes``."""
        return self._axes_op(op_type, x, axes, 13 if op_type == "ReduceSum" else 18, keepdims=keepdims)

    def split(self, x: str, sizes, axis: int) -> list[str]:
        outs = self.op("Split", x, self.ints(sizes), axis=axis, n_out=len(sizes))
        return outs if len(sizes) > 1 else [outs]

    def slice(self, x: str, start: int, end: int, axis: int) -> str:
        return self.op("Slice", x, self.ints([start]), self.ints([end]), self.ints([axis]))

    def gather(self, x: str, index: int, axis: int) -> str:
        """``x`` at one (possibly negative) index along ``axis``; that axis is dropped."""
        return self.op("Gather", x, self.const(np.int64(index), "idx"), axis=axis)

    def transpose(self, x: str, perm) -> str:
        return self.op("Transpose", x, perm=list(perm))

    def reshape(self, x: str, shape) -> str:
        """Reshape with ONNX's conventions: 0 copies a dimension, -1 is inferred."""
        return self.op("Reshape", x, self.ints(shape))

    def affine(self, x: str, weight: np.ndarray, bias: np.ndarray | None, hint: str = "w") -> str:
        """``x @ weight.T + bias`` over the last axis (PyTorch's (O, I) weight)."""
        y = self.op("MatMul", x, self.const(np.ascontiguousarray(weight.T), hint))
        return y if bias is None else self.op("Add", y, self.const(bias, hint + "_b"))
