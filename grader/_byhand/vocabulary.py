"""The names a by-hand solution may use: the allow-list of a problem's ``by_hand`` policy.

A problem that forbids a tool (autograd, a ready-made log-sum-exp) says in its rubric what a
solution *may* use, never what it may not: ``grader._byhand.reading`` refuses every name outside it.
This module holds the grader's named vocabularies; a rubric picks one and may add or remove
names (``[problems.by_hand]`` in rubric.toml, ``ByHand`` in ``grader._course.models``).

``tensor-math``: numerical work on tensors and arrays, and the Python a solution is written
in. What it holds is chosen so that nothing in it can build, read or run an autograd graph,
or reach a name that is not written in the source:
- no way to ask for a graph: no ``requires_grad_``, ``Parameter``, ``nn`` modules,
  ``enable_grad`` or ``set_grad_enabled`` (``no_grad`` and ``inference_mode``, which only
  turn recording off, are in);
- no way into one: no ``backward``, ``grad``, ``grad_fn``, ``autograd``, ``func``, hooks;
- no way to look a name up at run time: no ``getattr``, ``eval``, ``globals``, ``vars``,
  ``__dict__``, ``importlib``, ``sys``, ``os``, ``operator``, ``inspect``, ``gc``, ``ctypes``;
  no private ``_name`` of torch's or numpy's; no module beyond those below; none of the
  helpers that read attributes named by strings (``functools.wraps``, ``dataclasses.replace``,
  ``asdict``, ``fields``), build classes from a dict (``type``) or import a dotted name
  (``Tensor.type("...")``);
- no class machinery beyond plain classes: dunders a file defines are limited to the
  operators (``DUNDER_DEFINITIONS``), bases to ``BASES`` and the file's own classes;
- no threads or processes (a thread starts with autograd's recording on).
Everything in it is a function, class, constant or attribute of a tensor, an array or a
Python value that computes with data.
"""

from __future__ import annotations

import math as _math


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Modules a solution may import (and the packages on their path: ``import torch.nn.functional``).
MODULES = _words("""
    __future__ torch torch.nn torch.nn.functional torch.linalg torch.fft torch.special
    numpy numpy.linalg numpy.random math cmath typing dataclasses functools itertools collections
    copy random time warnings abc statistics
""")

# Builtins (names a file uses without defining or importing them).
BUILTINS = _words("""
    abs all any ascii bin bool bytes callable chr complex dict divmod enumerate filter float format
    frozenset hash hex id input int isinstance issubclass iter len list map max min next object oct
    ord pow print property range repr reversed round set slice sorted staticmethod classmethod str
    sum super tuple zip Ellipsis NotImplemented
    BaseException Exception ArithmeticError AssertionError AttributeError IndexError KeyError
    LookupError NotImplementedError OverflowError RuntimeError StopIteration TypeError ValueError
    ZeroDivisionError FloatingPointError Warning UserWarning RuntimeWarning DeprecationWarning
""") | _words("__name__ __doc__ __file__")  # the module's own (read-only facts about the file)

_TORCH = """
    Tensor Size dtype device finfo iinfo Generator
    float float16 float32 float64 bfloat16 half double complex64 complex128 cfloat cdouble
    int int8 int16 int32 int64 uint8 long short bool
    tensor as_tensor asarray from_numpy zeros ones empty full eye arange linspace logspace
    zeros_like ones_like empty_like full_like rand randn randint rand_like randn_like randint_like
    randperm normal bernoulli multinomial manual_seed seed initial_seed get_default_dtype
    set_default_dtype set_printoptions no_grad inference_mode is_tensor is_floating_point is_complex
    numel result_type promote_types can_cast get_rng_state set_rng_state
    cat concat concatenate stack hstack vstack dstack column_stack row_stack split chunk unbind
    tensor_split hsplit vsplit meshgrid broadcast_tensors broadcast_to broadcast_shapes
    atleast_1d atleast_2d atleast_3d block_diag cartesian_prod combinations
    abs absolute neg negative add sub subtract mul multiply div divide true_divide floor_divide
    remainder fmod pow float_power square sqrt rsqrt exp exp2 expm1 log log2 log10 log1p sigmoid
    logit tanh sinh cosh sin cos tan asin acos atan atan2 arcsin arccos arctan arctan2 arcsinh
    arccosh arctanh asinh acosh atanh relu clamp clamp_min clamp_max clip sign sgn signbit floor ceil
    round trunc fix frac reciprocal erf erfc erfinv lerp addcmul addcdiv where maximum minimum fmax
    fmin logaddexp logaddexp2 logsumexp softmax log_softmax hypot heaviside nan_to_num xlogy
    isfinite isinf isnan isneginf isposinf isclose allclose equal eq ne lt le gt ge greater less
    greater_equal less_equal not_equal logical_and logical_or logical_not logical_xor
    bitwise_and bitwise_or bitwise_xor bitwise_not count_nonzero
    sum mean prod max min amax amin aminmax argmax argmin std var std_mean var_mean norm cumsum
    cumprod cummax cummin logcumsumexp median nanmedian mode sort argsort msort topk kthvalue unique
    unique_consecutive all any nansum nanmean dist diff trapezoid trapz cumulative_trapezoid bincount
    histc searchsorted bucketize cdist cov corrcoef renorm
    matmul mm bmm mv dot vdot inner outer ger einsum tensordot kron t transpose swapaxes swapdims
    permute movedim moveaxis adjoint addmm addmv addr baddbmm addbmm chain_matmul matrix_power
    diag diag_embed diagonal diagflat trace tril triu tril_indices triu_indices
    det logdet slogdet inverse pinverse svd svd_lowrank pca_lowrank qr solve cholesky cholesky_solve
    cholesky_inverse lstsq inv inv_ex pinv matrix_norm vector_norm matrix_rank eig eigh eigvals
    eigvalsh cond cross vecdot multi_dot householder_product lu lu_factor lu_solve solve_triangular
    triangular_solve matrix_exp svdvals
    reshape view view_as reshape_as flatten unflatten ravel squeeze unsqueeze expand expand_as repeat
    repeat_interleave tile flip fliplr flipud roll rot90 narrow narrow_copy select index_select
    masked_select masked_fill masked_scatter gather scatter scatter_add scatter_reduce index_add
    index_copy index_fill index_put index_reduce take take_along_dim nonzero argwhere unfold
    contiguous clone detach data numpy tolist item cpu to type_as double half long int short bool
    byte char cfloat cdouble is_contiguous element_size nelement ndimension dim size shape ndim
    stride storage_offset is_cuda is_cpu real imag conj resolve_conj resolve_neg new_zeros new_ones
    new_empty new_full new_tensor fill fill_diagonal_ zero_ fill_ copy_ index_put_ masked_fill_
    add_ sub_ mul_ div_ pow_ exp_ log_ sigmoid_ tanh_ relu_ clamp_ clamp_min_ clamp_max_ clip_
    neg_ abs_ sqrt_ square_ addmm_ addmv_ addcmul_ addcdiv_ lerp_ index_add_ index_copy_
    index_fill_ scatter_ scatter_add_ scatter_reduce_ t_ transpose_ unsqueeze_ squeeze_
    uniform_ normal_ random_ exponential_ bernoulli_ copysign floor_ ceil_ round_ reciprocal_
    sign_ true_divide_ floor_divide_ remainder_ fmod_ mT mH H T values indices U S V Vh Q R L
    eigenvalues eigenvectors solution rank residuals singular_values
    eps tiny resolution bits
    nn functional linalg fft special
    conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d linear bilinear pad
    relu6 elu selu celu gelu silu mish softplus softsign hardtanh hardsigmoid hardswish leaky_relu
    logsigmoid tanhshrink softmin threshold glu mse_loss l1_loss smooth_l1_loss huber_loss
    cross_entropy nll_loss binary_cross_entropy binary_cross_entropy_with_logits kl_div one_hot
    normalize avg_pool1d avg_pool2d max_pool1d max_pool2d adaptive_avg_pool1d adaptive_avg_pool2d
    adaptive_max_pool1d adaptive_max_pool2d fold interpolate dropout cosine_similarity
    pairwise_distance embedding batch_norm layer_norm
    fftn ifft ifftn rfft irfft fftfreq erfcx expit log_ndtr ndtr entr
"""

_NUMPY = """
    array asarray ndarray zeros ones empty full eye identity arange linspace zeros_like ones_like
    full_like empty_like copy dot matmul outer inner einsum tensordot transpose reshape concatenate
    stack hstack vstack split expand_dims squeeze where clip maximum minimum sum mean prod max min
    argmax argmin cumsum exp log log1p expm1 sqrt tanh abs sign square power multiply add subtract
    divide allclose isclose isfinite isnan float32 float64 int32 int64 bool_ newaxis pi e inf nan
    astype flatten ravel tolist item linalg norm random randn rand seed default_rng standard_normal
    uniform normal integers diag trace triu tril amax amin logaddexp count_nonzero ascontiguousarray
    asfortranarray atleast_1d atleast_2d column_stack convolve correlate pad tile repeat swapaxes moveaxis
    broadcast_to reciprocal negative exp2 log2 log10 std var copyto nan_to_num float16 int8 int16 uint8
"""

_PYTHON = """
    append extend insert pop remove reverse sort index count clear items keys values get update
    setdefault popitem add discard union intersection difference issubset issuperset join
    format split rsplit strip lstrip rstrip lower upper startswith endswith zfill ljust rjust
    center splitlines isdigit
    List Tuple Dict Set FrozenSet Optional Union Sequence MutableSequence Mapping Iterable Iterator
    Generator Callable Any Literal TypeVar Final ClassVar NamedTuple TypedDict Protocol cast
    overload TYPE_CHECKING Type
    dataclass field
    reduce partial lru_cache cache cached_property total_ordering
    product chain accumulate zip_longest pairwise islice count starmap combinations permutations
    groupby tee from_iterable
    defaultdict deque OrderedDict Counter
    deepcopy perf_counter perf_counter_ns monotonic process_time time sleep
    random uniform gauss randint choice choices shuffle sample
    warn filterwarnings catch_warnings simplefilter
    ABC abstractmethod
    fmean pstdev stdev variance
    __init__ __name__ __doc__ __post_init__ __call__ __len__ __iter__ __next__ __getitem__
    __enter__ __exit__ __repr__ __str__ __qualname__ __future__ annotations
"""

# Attribute names, and names imported with ``from ... import``: torch's and numpy's numerical
# API, the methods of Python's values, and the public names of the modules above.
ATTRIBUTES = (_words(_TORCH) | _words(_NUMPY) | _words(_PYTHON)
              | frozenset(n for n in dir(_math) if not n.startswith("_")))

# Dunders a class of the file may define: how its own objects behave under Python's operators.
# Not the hooks by which Python looks names up or builds classes (__getattr__, __setattr__,
# __class__, __init_subclass__, __set_name__, __match_args__, __instancecheck__, __torch_function__...).
DUNDER_DEFINITIONS = _words("""
    __init__ __post_init__ __repr__ __str__ __len__ __iter__ __next__ __getitem__ __setitem__ __contains__
    __call__ __enter__ __exit__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __hash__ __bool__
    __add__ __radd__ __iadd__ __sub__ __rsub__ __isub__ __mul__ __rmul__ __imul__ __matmul__ __rmatmul__
    __truediv__ __rtruediv__ __itruediv__ __neg__ __pos__ __abs__ __pow__
""")

# What a class of the file may derive from, besides its own classes: plain objects, records,
# abstract bases, exceptions and Python's containers. Not a tensor (a subclass runs torch's
# dispatch hooks), not type (a metaclass).
BASES = _words("""
    object NamedTuple ABC Protocol dict list tuple set Exception ValueError RuntimeError TypeError
    ArithmeticError AssertionError AttributeError IndexError KeyError LookupError NotImplementedError
    OverflowError StopIteration ZeroDivisionError FloatingPointError Warning UserWarning RuntimeWarning
""")

VOCABULARIES = {"tensor-math": (MODULES, BUILTINS, ATTRIBUTES)}
