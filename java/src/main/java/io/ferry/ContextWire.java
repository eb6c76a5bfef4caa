package io.ferry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The inputs and outputs of Ferry's context and variable ops (ferry.h, "Execution contexts"). */
final class ContextWire {
    static final int VAR_I64 = 1, VAR_F64 = 2, VAR_STRING = 3, VAR_BYTES = 4;
    private static final int NO_OP_SET = -1;

    private ContextWire() {
    }

    /** ferry.ctx_create's input: name, frozen variable names, and the op set (null: every op). */
    static byte[] createRequest(String name, List<String> freeze, List<Op> allowed) {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        List<byte[]> frozen = new ArrayList<>();
        int size = 4 + nameBytes.length + 4 + 4;
        for (String f : freeze) {
            byte[] b = f.getBytes(StandardCharsets.UTF_8);
            frozen.add(b);
            size += 4 + b.length;
        }
        if (allowed != null) {
            size += 4 * allowed.size();
        }
        ByteBuffer in = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        in.putInt(nameBytes.length).put(nameBytes).putInt(frozen.size());
        for (byte[] b : frozen) {
            in.putInt(b.length).put(b);
        }
        in.putInt(allowed == null ? NO_OP_SET : allowed.size());
        if (allowed != null) {
            for (Op op : allowed) {
                in.putInt(op.id());
            }
        }
        return in.array();
    }

    /** The names of the ops a child may run: those asked for (null: every op) that its parent may run. */
    static List<String> narrow(List<Op> asked, List<String> parentOps) {
        if (asked == null) {
            return parentOps;
        }
        List<String> names = new ArrayList<>();
        for (Op op : asked) {
            if (parentOps == null || parentOps.contains(op.name())) {
                names.add(op.name());
            }
        }
        return List.copyOf(names);
    }

    /** ferry.var_set's input: the name, then the value's bytes if it has any (a scalar travels as an argument). */
    static byte[] varSetRequest(String var, byte[] value) {
        byte[] n = var.getBytes(StandardCharsets.UTF_8);
        ByteBuffer in = ByteBuffer.allocate(4 + n.length + (value == null ? 0 : value.length))
                .order(ByteOrder.LITTLE_ENDIAN);
        in.putInt(n.length).put(n);
        if (value != null) {
            in.put(value);
        }
        return in.array();
    }

    /** The value in ferry.var_get's output: type, frozen, then the value. */
    static Object value(String var, byte[] out) {
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        int type = b.getInt();
        b.getInt(); // frozen
        return switch (type) {
            case VAR_I64 -> b.getLong();
            case VAR_F64 -> b.getDouble();
            case VAR_STRING -> new String(out, 8, out.length - 8, StandardCharsets.UTF_8);
            case VAR_BYTES -> Arrays.copyOfRange(out, 8, out.length);
            default -> throw new FerryException("variable '" + var + "' has an unknown type " + type);
        };
    }

    /** Whether ferry.var_get's output says the variable is frozen. */
    static boolean frozen(byte[] out) {
        return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).getInt(4) != 0;
    }
}
