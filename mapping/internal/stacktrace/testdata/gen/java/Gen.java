// Writes Java stacks as OpenTelemetry Java records exception.stacktrace:
// the SDK's default exception attributes use Throwable.printStackTrace into a StringWriter.
// Usage: java Gen.java OUTDIR
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

public class Gen {
    static class OrderRepository {
        int load(String id) {
            return Integer.parseInt(id);
        }
    }

    static class OrderService {
        int fetch(String id) {
            try {
                return new OrderRepository().load(id);
            } catch (NumberFormatException e) {
                throw new IllegalStateException("order " + id + " could not be loaded", e);
            }
        }
    }

    static int handle(String id) {
        try {
            return new OrderService().fetch(id);
        } catch (IllegalStateException e) {
            throw new RuntimeException("request failed", e);
        }
    }

    static void write(Path out, String name, Throwable t) throws Exception {
        StringWriter sw = new StringWriter();
        t.printStackTrace(new PrintWriter(sw));
        Files.writeString(out.resolve("java_" + name + ".txt"), sw.toString());
        Files.writeString(out.resolve("java_" + name + ".type"), t.getClass().getName() + "\n" + t.getMessage());
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        try {
            new OrderService().fetch("x1");
        } catch (Exception e) {
            write(out, "causedby", e);
        }
        try {
            handle("x2");
        } catch (Exception e) {
            write(out, "nested", e);
        }
        try {
            List.of(1, 2, 3).forEach(i -> { if (i == 2) throw new ArithmeticException("lambda " + i); });
        } catch (Exception e) {
            write(out, "lambda", e);
        }
        try (AutoCloseable a = () -> { throw new java.io.IOException("close failed"); }) {
            throw new UnsupportedOperationException("body failed");
        } catch (Exception e) {
            write(out, "suppressed", e);
        }
    }
}
