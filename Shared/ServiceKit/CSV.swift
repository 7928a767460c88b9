/// RFC 4180 CSV output, safe to open in a spreadsheet.
public enum CSVFormat {
    /// One record, CRLF-terminated. Fields with commas, quotes or line breaks are quoted; a field
    /// that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) is
    /// prefixed with `'` so it stays text.
    public static func record(_ fields: [String]) -> String {
        fields.map(self.field).joined(separator: ",") + "\r\n"
    }

    static func field(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            text = "'" + text
        }
        if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }
}
