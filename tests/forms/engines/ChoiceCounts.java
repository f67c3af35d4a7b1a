// JavaRosa's answer to "how many choices does each select offer": compiled at test time against the
// ODK Validate jar that pyxform ships (it contains JavaRosa, Collect's form engine).
// Usage: java ChoiceCounts MEDIA_DIR @FORM.xml "path=value;path=value" ... @OTHER.xml ...
// "@FORM.xml" names the form for the cases after it; for each case the form is loaded afresh, the
// values are set, and one line per select question is printed, tab-separated: form file name, case,
// question path, number of choices offered.
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.javarosa.core.model.FormDef;
import org.javarosa.core.model.FormIndex;
import org.javarosa.core.model.QuestionDef;
import org.javarosa.core.model.data.StringData;
import org.javarosa.core.model.instance.InstanceInitializationFactory;
import org.javarosa.core.reference.Reference;
import org.javarosa.core.reference.ReferenceFactory;
import org.javarosa.core.reference.ReferenceManager;
import org.javarosa.form.api.FormEntryModel;
import org.javarosa.xform.util.XFormUtils;

public class ChoiceCounts {
    static final class FileRef implements Reference {
        private final String uri;
        private final File file;
        FileRef(String uri, File file) { this.uri = uri; this.file = file; }
        public boolean doesBinaryExist() { return file.exists(); }
        public InputStream getStream() throws IOException { return new FileInputStream(file); }
        public String getURI() { return uri; }
        public String getLocalURI() { return file.getAbsolutePath(); }
        public boolean isReadOnly() { return true; }
        public OutputStream getOutputStream() throws IOException { throw new IOException("read only"); }
        public void remove() throws IOException { throw new IOException("read only"); }
        public Reference[] probeAlternativeReferences() { return new Reference[0]; }
    }

    static final class MediaFactory implements ReferenceFactory {
        private final File dir;
        MediaFactory(File dir) { this.dir = dir; }
        public boolean derives(String uri) { return uri.startsWith("jr://file"); }
        public Reference derive(String uri) {
            return new FileRef(uri, new File(dir, uri.substring(uri.lastIndexOf('/') + 1)));
        }
        public Reference derive(String uri, String context) { return derive(uri); }
    }

    public static void main(String[] args) throws Exception {
        org.javarosa.core.services.PropertyManager.setPropertyManager(
                new org.opendatakit.validate.StubPropertyManager());
        new org.javarosa.model.xform.XFormsModule().registerModule(); // jr:choice-name needs it
        ReferenceManager.instance().addReferenceFactory(new MediaFactory(new File(args[0])));
        File source = null;
        for (int c = 1; c < args.length; c++) {
            if (args[c].startsWith("@")) {
                source = new File(args[c].substring(1));
                continue;
            }
            FormDef form;
            try (InputStream in = new FileInputStream(source)) {
                form = XFormUtils.getFormFromInputStream(in);
            }
            form.initialize(true, new InstanceInitializationFactory());
            FormEntryModel model = new FormEntryModel(form);
            for (String pair : args[c].split(";")) {
                if (pair.isEmpty()) continue;
                String[] kv = pair.split("=", 2);
                FormIndex at = find(form, model, kv[0]);
                form.setValue(new StringData(kv[1]), at.getReference(), true);
            }
            FormIndex index = FormIndex.createBeginningOfFormIndex();
            for (index = model.incrementIndex(index, true); !index.isEndOfFormIndex();
                    index = model.incrementIndex(index, true)) {
                if (!(form.getChild(index) instanceof QuestionDef)) continue;
                QuestionDef q = (QuestionDef) form.getChild(index);
                int type = q.getControlType();
                if (type != org.javarosa.core.model.Constants.CONTROL_SELECT_ONE
                        && type != org.javarosa.core.model.Constants.CONTROL_SELECT_MULTI) continue;
                int n = model.getQuestionPrompt(index).getSelectChoices().size();
                System.out.println(source.getName() + "\t" + args[c] + "\t" + path(index) + "\t" + n);
            }
        }
    }

    static String path(FormIndex index) {
        return index.getReference().toString(false);
    }

    static FormIndex find(FormDef form, FormEntryModel model, String wanted) {
        FormIndex index = FormIndex.createBeginningOfFormIndex();
        for (index = model.incrementIndex(index, true); !index.isEndOfFormIndex();
                index = model.incrementIndex(index, true)) {
            if (path(index).equals(wanted)) return index;
        }
        throw new IllegalArgumentException("no question " + wanted);
    }
}
