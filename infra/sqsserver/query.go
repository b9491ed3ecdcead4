package sqsserver

import (
	"encoding/json"
	"encoding/xml"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The AWS Query protocol (form-encoded "Action=...&Version=2012-11-05"
// requests with XML responses), spoken by the AWS CLI v1 and v2 before 2.13,
// boto3 before 1.34.90 and other older SDKs. Every action is served through
// the same code as the JSON protocol: the form is turned into the action's
// JSON input and the JSON output into the Query protocol's XML.

// queryNamespace is the XML namespace of SQS Query responses.
const queryNamespace = "http://queue.amazonaws.com/doc/2012-11-05/"

// isQueryRequest reports whether r uses the Query protocol: no
// X-Amz-Target, and a form-encoded POST or a GET with Action in the URL.
func isQueryRequest(r *http.Request) bool {
	if r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	if r.Method == http.MethodGet {
		return r.URL.Query().Get("Action") != ""
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return r.Method == http.MethodPost && (err == nil && mt == "application/x-www-form-urlencoded" || r.URL.Query().Get("Action") != "")
}

// queryInput turns a Query request's parameters (form body and URL query)
// into the action name and its JSON input.
func queryInput(r *http.Request, body []byte) (string, []byte, *apiError) {
	vals := r.URL.Query()
	if r.Method == http.MethodPost && len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", nil, errMalformed("The request body is not a valid form.")
		}
		for k, vs := range form {
			vals[k] = append(vals[k], vs...)
		}
	}
	action := vals.Get("Action")
	if action == "" {
		return "", nil, errMissing("Action")
	}
	tree := map[string]any{}
	for k, vs := range vals {
		if len(vs) == 0 || k == "Action" || k == "Version" || strings.HasPrefix(k, "X-Amz-") {
			continue
		}
		insertPath(tree, strings.Split(k, "."), vs[0])
	}
	in := convertQuery(tree)
	// Older clients address the queue by posting to its URL.
	if _, ok := in["QueueUrl"]; !ok {
		if p := strings.Trim(r.URL.Path, "/"); strings.Count(p, "/") == 1 {
			in["QueueUrl"] = p
		}
	}
	js, err := json.Marshal(in)
	if err != nil {
		return "", nil, errMalformed("The request parameters could not be read.")
	}
	return action, js, nil
}

// insertPath stores v at the dotted path in a tree of maps.
func insertPath(tree map[string]any, path []string, v string) {
	for i, seg := range path {
		if i == len(path)-1 {
			if _, exists := tree[seg]; !exists {
				tree[seg] = v
			}
			return
		}
		next, ok := tree[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			tree[seg] = next
		}
		tree = next
	}
}

// indexed returns the members of a map keyed "1", "2", … in index order.
func indexed(node any) []any {
	m, ok := node.(map[string]any)
	if !ok {
		return nil
	}
	type kv struct {
		i int
		v any
	}
	var items []kv
	for k, v := range m {
		if i, err := strconv.Atoi(k); err == nil && i > 0 {
			items = append(items, kv{i, v})
		}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// field returns m[k] as a string.
func field(node any, k string) string {
	m, _ := node.(map[string]any)
	s, _ := m[k].(string)
	return s
}

// convertQuery maps the Query protocol's flattened shapes to the JSON
// protocol's: Attribute.N.Name/Value → Attributes{}, Tag.N.Key/Value →
// tags{}, AttributeName.N → AttributeNames[], MessageAttribute.N.Name/Value.*
// → MessageAttributes{}, <X>BatchRequestEntry.N.* → Entries[].
func convertQuery(tree map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range tree {
		switch {
		case k == "Attribute":
			attrs := map[string]string{}
			for _, it := range indexed(v) {
				attrs[field(it, "Name")] = field(it, "Value")
			}
			out["Attributes"] = attrs
		case k == "Tag" || k == "Tags":
			tags := map[string]string{}
			for _, it := range indexed(v) {
				tags[field(it, "Key")] = field(it, "Value")
			}
			out["tags"] = tags
		case k == "TagKey":
			out["TagKeys"] = indexed(v)
		case k == "AttributeName" || k == "MessageAttributeName" || k == "MessageSystemAttributeName":
			out[k+"s"] = indexed(v)
		case k == "MessageAttribute" || k == "MessageSystemAttribute":
			attrs := map[string]any{}
			for _, it := range indexed(v) {
				m, _ := it.(map[string]any)
				val, _ := m["Value"].(map[string]any)
				a := map[string]any{}
				for _, f := range []string{"DataType", "StringValue", "BinaryValue"} {
					if s, ok := val[f].(string); ok {
						a[f] = s
					}
				}
				attrs[field(it, "Name")] = a
			}
			out[k+"s"] = attrs
		case strings.HasSuffix(k, "BatchRequestEntry"):
			var entries []any
			for _, it := range indexed(v) {
				if m, ok := it.(map[string]any); ok {
					entries = append(entries, convertQuery(m))
				}
			}
			out["Entries"] = entries
		default:
			out[k] = v
		}
	}
	return out
}

// queryListMembers names the XML element of each member of a JSON list
// field in Query responses; maps use Name/Value (Key/Value for tags) pairs.
var queryListMembers = map[string]string{
	"QueueUrls": "QueueUrl", "queueUrls": "QueueUrl", "Messages": "Message",
	"Failed": "BatchResultErrorEntry", "Results": "ListMessageMoveTasksResultEntry",
}

// batchEntryNames names a batch action's success entries.
var batchEntryNames = map[string]string{
	"SendMessageBatch":             "SendMessageBatchResultEntry",
	"DeleteMessageBatch":           "DeleteMessageBatchResultEntry",
	"ChangeMessageVisibilityBatch": "ChangeMessageVisibilityBatchResultEntry",
}

// writeQueryResult writes out (the action's JSON output) as the Query
// protocol's <ActionResponse><ActionResult>…</ActionResult>
// <ResponseMetadata><RequestId>….
func writeQueryResult(w http.ResponseWriter, action string, out any, requestID string) error {
	js, err := json.Marshal(out)
	if err != nil {
		return err
	}
	var tree map[string]any
	dec := json.NewDecoder(strings.NewReader(string(js)))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>` + "\n")
	b.WriteString("<" + action + `Response xmlns="` + queryNamespace + `">`)
	if len(tree) > 0 {
		b.WriteString("<" + action + "Result>")
		writeQueryFields(&b, action, tree)
		b.WriteString("</" + action + "Result>")
	} else if action == "GetQueueAttributes" || action == "ListQueues" || action == "ReceiveMessage" || action == "ListQueueTags" || action == "ListMessageMoveTasks" {
		b.WriteString("<" + action + "Result/>")
	}
	b.WriteString("<ResponseMetadata><RequestId>" + xmlText(requestID) + "</RequestId></ResponseMetadata>")
	b.WriteString("</" + action + "Response>")
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("x-amzn-RequestId", requestID)
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte(b.String()))
	return err
}

func writeQueryFields(b *strings.Builder, action string, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		writeQueryField(b, action, k, m[k])
	}
}

func writeQueryField(b *strings.Builder, action, k string, v any) {
	switch val := v.(type) {
	case nil:
	case []any:
		member := queryListMembers[k]
		if k == "Successful" {
			member = batchEntryNames[action]
		}
		if member == "" {
			member = k
		}
		for _, it := range val {
			writeQueryField(b, action, member, it)
		}
	case map[string]any:
		switch k {
		case "Attributes":
			for _, name := range sortedKeys(val) {
				b.WriteString("<Attribute><Name>" + xmlText(name) + "</Name><Value>" + xmlText(scalar(val[name])) + "</Value></Attribute>")
			}
		case "Tags":
			for _, name := range sortedKeys(val) {
				b.WriteString("<Tag><Key>" + xmlText(name) + "</Key><Value>" + xmlText(scalar(val[name])) + "</Value></Tag>")
			}
		case "MessageAttributes":
			for _, name := range sortedKeys(val) {
				b.WriteString("<MessageAttribute><Name>" + xmlText(name) + "</Name><Value>")
				if a, ok := val[name].(map[string]any); ok {
					writeQueryFields(b, action, a)
				}
				b.WriteString("</Value></MessageAttribute>")
			}
		default:
			b.WriteString("<" + k + ">")
			writeQueryFields(b, action, val)
			b.WriteString("</" + k + ">")
		}
	default:
		b.WriteString("<" + k + ">" + xmlText(scalar(val)) + "</" + k + ">")
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// scalar renders a JSON scalar as Query XML text.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	default:
		js, _ := json.Marshal(x)
		return string(js)
	}
}

// xmlText escapes s for XML character data.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeXML sends the error as a Query protocol ErrorResponse.
func (e *apiError) writeXML(w http.ResponseWriter, requestID string) {
	fault := "Sender"
	if e.receiver {
		fault = "Receiver"
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("x-amzn-RequestId", requestID)
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(`<?xml version="1.0"?>` + "\n" + `<ErrorResponse xmlns="` + queryNamespace + `"><Error><Type>` + fault +
		"</Type><Code>" + xmlText(e.queryCode) + "</Code><Message>" + xmlText(e.message) + "</Message><Detail/></Error><RequestId>" +
		xmlText(requestID) + "</RequestId></ErrorResponse>"))
}
