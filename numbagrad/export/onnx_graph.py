"""A small builder of ONNX graphs whose tensors all have one float dtype."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["GraphBuilder"]


class GraphBuilder:
    """Nodes and initializers of one ONNX graph, appended in execution order.

    Every tensor has the dtype ``dtype`` (float32 or float64): weights and
    constants are stored in it, so a float64 model keeps every digit.
    ``scope`` prefixes the names of the nodes added next (the layer's name),
    so that a viewer such as Netron shows which layer a node belongs to.

    Args:
        onnx: the imported ``onnx`` module.
        dtype: the graph's float dtype.
        opset: the default domain's opset version the graph targets.
    """

    def __init__(self, onnx: Any, dtype: np.dtype, opset: int):
        self.onnx = onnx
        self.dtype = np.dtype(dtype)
        self.opset = opset
        self.element_type = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.scope = "graph"
        self._constants: dict[float, str] = {}
        self._names: set[str] = {"input", "output"}

    @property
    def float32(self) -> bool:
        """Whether operators with float attributes may be used: ONNX stores those attributes as
        32-bit floats, so a float64 graph writes such constants as float64 tensors instead."""
        return self.dtype == np.float32

    def _unique(self, base: str) -> str:
        name, counter = base, 1
        while name in self._names:
            counter += 1
            name = f"{base}_{counter}"
        self._names.add(name)
        return name

    def tensor(self, name: str, array: np.ndarray) -> str:
        """Add ``array`` (converted to the graph's dtype) as an initializer named ``scope/name``; returns its name."""
        unique = self._unique(f"{self.scope}/{name}")
        data = np.ascontiguousarray(array, dtype=self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(data, unique))
        return unique

    def constant(self, value: float) -> str:
        """A scalar initializer holding ``value`` in the graph's dtype, shared by every node that uses it."""
        key = float(value)
        if key not in self._constants:
            unique = self._unique(f"constant/{key!r}")
            self.initializers.append(self.onnx.numpy_helper.from_array(np.array(key, dtype=self.dtype), unique))
            self._constants[key] = unique
        return self._constants[key]

    def op(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        """Append the node ``op_type(*inputs)`` with these attributes; returns its output's name."""
        output = self._unique(f"{self.scope}/{op_type}")
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [output], name=output, **attributes))
        return output

    def rename_output(self, current: str, name: str) -> None:
        """Give the last node's output, ``current``, the graph output's name ``name``."""
        last = self.nodes[-1]
        if last.output[0] != current:
            raise AssertionError(f"the graph's result {current!r} is not the last node's output {last.output[0]!r}")
        last.output[0] = name
