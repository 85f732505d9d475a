"""The ready-made networks as ONNX: :class:`SequenceModel` (and :class:`CharRNN`), :class:`Seq2Seq`.

SequenceModel, batch-first, eval mode (its Dropouts are the identity)::

    x (B, T, I) | ids (B, T) -> [Gather embedding] -> [input layers] -> recurrent nodes (lengths)
        -> 'sequence': out (B, T, F) | many-to-one: last state h_n merged, mean / max over real steps
        -> [head layers] -> Linear -> y (B, T, O) | (B, O);   also h_n (L*D, B, P), c_n (LSTM)

Seq2Seq, in four parts (``to_onnx(model, path, part=...)``)::

    'encoder'  src (B, Ts), lengths -> decoder initial state s_0 (L, B, H) (bridge: tanh(W [h_f; h_b] + b))
    'decoder'  tgt_in (B, Tt), s_0 -> logits (B, Tt, V), s_n               (one or more steps)
    'forward'  src, tgt_in, lengths -> logits (B, Tt, V)                   (teacher forcing: encoder + decoder)
    'greedy'   src, lengths, max_len () -> ids (B, max_len)                (a Loop: argmax fed back from SOS,
               rows after EOS are PAD, stops once every row has emitted EOS; as Seq2Seq.greedy_decode)
"""

from __future__ import annotations

import numpy as np

from rnnkit.export._modules import UnsupportedModuleError, write
from rnnkit.export._recurrent import emit_recurrent, merge

__all__ = ["sequence_model", "seq2seq_encode", "seq2seq_decode", "seq2seq_greedy"]

_SEQUENCE_MODEL_PARTS = {"embedding", "pre", "rnn", "pool", "post", "drop", "head"}
_SEQ2SEQ_PARTS = {"src_embedding", "encoder", "bridge_h", "bridge_c", "tgt_embedding", "decoder", "drop", "head"}


def _known_parts(m, known, where):
    unknown = sorted(set(m._modules) - known)
    if unknown:
        raise UnsupportedModuleError(f"cannot export {where} ({type(m).__name__}): parts {unknown} are new to "
                                     f"rnnkit.export (it knows {sorted(known)})")


def _output_parts(m) -> tuple[str, ...]:
    parts = getattr(m, "_parts", None)
    if parts is None:
        parts = () if m.output == "sequence" else (m.output,)
    return tuple(parts)


def _last_state(g, rnn, h_n):
    """The last layer's final state, directions merged: ``(L*D, B, P) -> (B, F)``."""
    D = rnn.num_directions
    rows = [g.gather(h_n, k - D, axis=0) for k in range(D)]                  # (B, P) each
    return merge(g, rows, rnn.merge_mode, axis=1)


def sequence_model(g, m, x, lengths, state0, where="model"):
    """``m(x, state0, lengths)`` -> ``(y, h_n, c_n)``; ``c_n`` None but for the LSTM."""
    _known_parts(m, _SEQUENCE_MODEL_PARTS, where)
    if m.num_embeddings is not None:
        x = write(g, m.embedding, x, None, where + ".embedding")            # (B, T, E)
    if "pre" in m._modules:
        x = write(g, m.pre, x, None, where + ".pre")                        # (B, T, I')
    out, h_n, c_n = emit_recurrent(g, m.rnn, x, lengths, state0)            # (B, T, F)
    parts = _output_parts(m)
    if not parts:
        feat = out
    else:
        pooled = write(g, m.pool, out, lengths, where + ".pool") if "pool" in m._modules else None
        F, k, pieces = m.features, 0, []
        for p in parts:
            if p == "last":
                pieces.append(_last_state(g, m.rnn, h_n))                    # (B, F)
            else:
                pieces.append(g.slice(pooled, k * F, (k + 1) * F, axis=1))
                k += 1
        feat = pieces[0] if len(pieces) == 1 else g.op("Concat", *pieces, axis=1)
    if "post" in m._modules:
        feat = write(g, m.post, feat, None, where + ".post")
    return write(g, m.head, feat, None, where + ".head"), h_n, c_n


def seq2seq_encode(g, m, src, lengths, where="model"):
    """Source ids -> the decoder's initial state: ``(h0,)`` or ``(h0, c0)``, each ``(L, B, H)``."""
    _known_parts(m, _SEQ2SEQ_PARTS, where)
    e = write(g, m.src_embedding, src, None, where + ".src_embedding")      # (B, Ts, E)
    _, h_n, c_n = emit_recurrent(g, m.encoder, e, lengths)                  # (L*D, B, H)
    states = (h_n,) if c_n is None else (h_n, c_n)
    if not m.bidirectional_encoder:
        return states
    L, H = m.num_layers, m.hidden_size
    out = []
    for k, s in enumerate(states):
        a = g.reshape(g.transpose(g.reshape(s, [L, 2, -1, H]), [0, 2, 1, 3]), [0, 0, 2 * H])   # (L, B, 2H)
        z = write(g, m.bridge_h if k == 0 else m.bridge_c, a, None, where + (".bridge_h" if k == 0 else ".bridge_c"))
        out.append(g.op("Tanh", z) if k == 0 else z)                       # (L, B, H)
    return tuple(out)


def seq2seq_decode(g, m, tgt_in, state0, where="model"):
    """Decoder ids ``(B, Tt)`` from ``state0`` -> ``(logits (B, Tt, V), (h_n,) or (h_n, c_n))``."""
    d = write(g, m.tgt_embedding, tgt_in, None, where + ".tgt_embedding")    # (B, Tt, E)
    out, h_n, c_n = emit_recurrent(g, m.decoder, d, None, state0)            # (B, Tt, H)
    logits = write(g, m.head, out, None, where + ".head")                    # (B, Tt, V)
    return logits, ((h_n,) if c_n is None else (h_n, c_n))


def _filled(g, like_rows: str, width: int | None, value, dtype):
    """A ``(B,)`` or ``(B, width)`` tensor of ``value`` with B = the first dimension of ``like_rows``."""
    B = g.op("Slice", g.op("Shape", like_rows), g.ints([0]), g.ints([1]))
    shape = B if width is None else g.op("Concat", B, g.ints([width]), axis=0)
    return g.op("ConstantOfShape", shape, value=g.onnx.numpy_helper.from_array(np.array([value], dtype)))


def seq2seq_greedy(g, m, src, lengths, max_len, where="model"):
    """``m.greedy_decode(src, lengths, max_len)`` as a Loop; returns ids ``(B, max_len)`` int64."""
    state0 = seq2seq_encode(g, m, src, lengths, where)
    L, H = m.num_layers, m.hidden_size
    f32, i64 = np.float32, np.int64
    tok0 = _filled(g, src, 1, m.sos_id, i64)                                  # (B, 1)
    done0 = _filled(g, src, None, False, np.bool_)                            # (B,)
    body = g.body("greedy_step")
    body.input("step", i64, [], fresh=True)
    body.input("cond_in", np.bool_, [], fresh=True)
    states = tuple(body.input(n, f32, [L, "B", H], fresh=True) for n in ("h", "c")[: len(state0)])
    tok = body.input("token", i64, ["B", 1], fresh=True)
    done = body.input("done", np.bool_, ["B"], fresh=True)
    logits, new_states = seq2seq_decode(body, m, tok, states, where)          # (B, 1, V)
    nxt = body.op("ArgMax", body.squeeze(logits, [1]), axis=-1, keepdims=0)   # (B,)
    emitted = body.op("Where", done, g.const(i64(m.pad_id)), nxt)             # (B,)
    done_new = body.op("Or", done, body.op("Equal", nxt, g.const(i64(m.eos_id))))
    all_done = body.op("Equal", body.reduce("ReduceMin", body.op("Cast", done_new, to=g.onnx.TensorProto.INT32), [0]),
                       g.const(np.int32(1)))
    body.output(body.op("Not", all_done), "cond_out", np.bool_, [], fresh=True)
    for k, s in enumerate(new_states):
        body.output(s, ("h_out", "c_out")[k], f32, [L, "B", H], fresh=True)
    body.output(body.unsqueeze(nxt, [1]), "token_out", i64, ["B", 1], fresh=True)
    body.output(done_new, "done_out", np.bool_, ["B"], fresh=True)
    body.output(emitted, "emitted", i64, ["B"], fresh=True)
    outs = g.op("Loop", max_len, g.const(np.bool_(True)), *state0, tok0, done0, n_out=len(state0) + 3,
                body=body.graph_proto(), hint="greedy")
    ids = g.transpose(outs[-1], [1, 0])                                       # (B, n <= max_len)
    n = g.op("Slice", g.op("Shape", ids), g.ints([1]), g.ints([2]))           # (1,)
    pads = g.op("Concat", g.ints([0, 0, 0]), g.op("Sub", g.unsqueeze(max_len, [0]), n), axis=0)
    return g.op("Pad", ids, pads, g.const(i64(m.pad_id)), mode="constant")
