"""Compiled kernels (Numba). The NumPy backend in ``eventsnn.backends`` is their specification."""
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# Kernels called at every step take the network's named tuples of arrays. Numba increfs every array of a call's
# arguments on entry and decrefs it on return (two atomic operations each, ~0.5 µs for these tuples), which can
# cost more than a sparse network's step itself. Kernels that allocate nothing, called by one that holds every
# array, run without reference counting (``_nrt=False``, as Numba's own string kernels do).
borrowing = njit(cache=True, _nrt=False)


@intrinsic
def prefetch(typingctx, array, index):
    """Start loading ``array[index]`` into the cache (``llvm.prefetch``; no wraparound, no bounds check, never
    faults). A loop over elements at random places calls it a few iterations ahead, so their misses overlap."""
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, data, [args[1]], wraparound=False)
        byte = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32]),
                                              "llvm.prefetch.p0")
        builder.call(hint, [builder.bitcast(pointer, byte), i32(0), i32(3), i32(1)])  # read, keep, data
        return context.get_dummy_value()
    return types.void(array, index), codegen
