package org.smpnet.build;

import java.io.IOException;
import java.io.Writer;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.annotation.processing.SupportedAnnotationTypes;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.Element;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.AnnotationValue;
import javax.tools.Diagnostic;
import javax.tools.StandardLocation;

/**
 * Writes the inventory of classes that need Giant ({@code @org.smpnet.kern.NeedsGiant}) into
 * {@code META-INF/smpnet/giant-inventory.txt} of the jar being built: the TODO list's "link-time way
 * to identify code linked into the kernel that requires Giant". One line per class:
 * {@code binary-name<TAB>reason}, sorted.
 */
@SupportedAnnotationTypes("*") // runs on every compile so the inventory is written even when empty
public final class GiantInventoryProcessor extends AbstractProcessor {
    static final String NEEDS_GIANT = "org.smpnet.kern.NeedsGiant";
    public static final String INVENTORY = "META-INF/smpnet/giant-inventory.txt";

    private final Map<String, String> found = new TreeMap<>();

    @Override
    public SourceVersion getSupportedSourceVersion() {
        return SourceVersion.latestSupported();
    }

    @Override
    public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
        for (TypeElement annotation : annotations) {
            if (!annotation.getQualifiedName().contentEquals(NEEDS_GIANT)) {
                continue;
            }
            for (Element e : round.getElementsAnnotatedWith(annotation)) {
                if (e instanceof TypeElement type) {
                    found.put(processingEnv.getElementUtils().getBinaryName(type).toString(), reason(type));
                } else {
                    processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR,
                            "@NeedsGiant belongs on a class, not on " + e.getKind(), e);
                }
            }
        }
        if (round.processingOver()) {
            write();
        }
        return false;
    }

    private static String reason(TypeElement type) {
        for (AnnotationMirror m : type.getAnnotationMirrors()) {
            if (m.getAnnotationType().toString().equals(NEEDS_GIANT)) {
                for (Map.Entry<? extends ExecutableElement, ? extends AnnotationValue> v : m.getElementValues().entrySet()) {
                    if (v.getKey().getSimpleName().contentEquals("value")) {
                        return String.valueOf(v.getValue().getValue()).replace('\t', ' ').replace('\n', ' ');
                    }
                }
            }
        }
        return "";
    }

    private void write() {
        try (Writer w = processingEnv.getFiler().createResource(StandardLocation.CLASS_OUTPUT, "", INVENTORY).openWriter()) {
            w.write("# classes that need Giant: written by smpnet-processor at build time\n");
            for (Map.Entry<String, String> e : found.entrySet()) {
                w.write(e.getKey() + "\t" + e.getValue() + "\n");
            }
        } catch (IOException e) {
            processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, "cannot write " + INVENTORY + ": " + e);
        }
    }
}
