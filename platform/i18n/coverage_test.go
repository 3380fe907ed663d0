package i18n

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/types/typeutil"
)

// The coverage test reads the source of every module of the workspace with types, and finds the English
// texts that reach a client:
//
//   - an argument for a string parameter named format, message, msg or description of a function of this
//     repository (apierr.New, apierr.Invalid, Violations.Add, Error.Withf, plid's fail, the gateway's
//     writeStatus, ...) or of grpc's status package;
//   - the Message and Description fields of a struct literal of this repository (apierr.Error,
//     apierr.FieldViolation, plid.Error, ...) or of errdetails;
//
// and the reasons: arguments for string parameters named reason, Reason fields of such literals, and
// constants named Reason*. A text may be a constant, a fmt.Sprintf whose format is one, a local variable set
// from those, or a call of a function of this repository whose returns are those; a parameter passed on is
// checked where its caller passes it, and a field or method result read from another value was checked
// where that value was made. Anything else (a text built by concatenation, say) cannot be translated by key
// and fails the test, as does a text or reason the catalogue has no Polish for.

const module = "github.com/cus-suite/cus"

var (
	messageParams = map[string]bool{"format": true, "message": true, "msg": true, "description": true}
	messageFields = map[string]bool{"Message": true, "Description": true, "message": true, "description": true}
	reasonName    = regexp.MustCompile(`^[Rr]eason[A-Z]`)
	reasonCode    = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
	// Builders of this repository whose texts are for operators, not API clients: flag checks and key files
	// at startup, the HSDS OpenAPI document's parameter descriptions. Their readers read English.
	operatorBuilders = map[string]bool{
		"(*" + module + "/platform/config.Checker).Fail":    true,
		module + "/services/referral/internal/store.keyErr": true,
		module + "/gateway/internal/hsds.query":             true,
		module + "/gateway/internal/hsds.param":             true,
	}
	// Packages of this repository whose "description" parameters document the API (the OpenAPI 3.1
	// document's parameters and schemas), not an error: integrators read them in English.
	operatorPackages = map[string]bool{
		module + "/gateway/internal/openapi/convert": true,
	}
	// Functions outside the repository whose texts reach clients.
	externalBuilders = map[string]bool{
		"google.golang.org/grpc/status.Error":  true,
		"google.golang.org/grpc/status.Errorf": true,
		"google.golang.org/grpc/status.New":    true,
		"google.golang.org/grpc/status.Newf":   true,
	}
)

// found is one text or reason and where the code uses it.
type found struct {
	text string
	pos  token.Position
}

type scan struct {
	fset     *token.FileSet
	root     string
	decls    map[*types.Func]*ast.FuncDecl
	infos    map[*ast.FuncDecl]*types.Info
	messages []found
	reasons  []found
	problems []string
	seen     map[ast.Node]bool
}

func TestCatalogueCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every module of the workspace")
	}
	s := scanRepository(t)
	if len(s.messages) < 100 || len(s.reasons) < 50 {
		t.Fatalf("found only %d messages and %d reasons: the scan is broken", len(s.messages), len(s.reasons))
	}
	var missing []string
	for _, m := range s.messages {
		pl, ok := polish[m.text]
		switch {
		case !ok || pl == "":
			missing = append(missing, fmt.Sprintf("%s: message %q has no Polish text", s.rel(m.pos), m.text))
		case !SameVerbs(m.text, pl):
			missing = append(missing, fmt.Sprintf("%s: the Polish text of %q formats other arguments: %q", s.rel(m.pos), m.text, pl))
		}
	}
	for _, r := range s.reasons {
		if rt, ok := reasons[r.text]; !ok || rt.pl == "" || rt.en == "" {
			missing = append(missing, fmt.Sprintf("%s: reason %s has no Polish and English description", s.rel(r.pos), r.text))
		}
	}
	missing = append(missing, s.problems...)
	sort.Strings(missing)
	for _, m := range dedupe(missing) {
		t.Error(m)
	}
	t.Logf("%d messages and %d reasons checked", len(s.messages), len(s.reasons))
}

// TestCatalogueVerbs: every Polish text formats exactly the arguments of its English key, with the same
// verbs, so no translation prints %!d(string=...) or drops a value.
func TestCatalogueVerbs(t *testing.T) {
	for en, pl := range polish {
		if pl == "" {
			t.Errorf("%q: empty translation", en)
		} else if !SameVerbs(en, pl) {
			t.Errorf("%q: Polish %q formats other arguments (verbs %v, want %v)", en, pl, Verbs(pl), Verbs(en))
		}
	}
	for code, r := range reasons {
		if !reasonCode.MatchString(code) || r.pl == "" || r.en == "" {
			t.Errorf("reason %q: needs an UPPER_SNAKE code and both descriptions", code)
		}
	}
}

func dedupe(list []string) []string {
	var out []string
	for i, s := range list {
		if i == 0 || s != list[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// workspace finds the go.work above the test and the modules it uses.
func workspace(t *testing.T) (string, []string) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the test")
		}
		dir = parent
	}
	f, err := os.Open(filepath.Join(dir, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mods []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "use ("):
			in = true
		case in && line == ")":
			in = false
		case in && strings.HasPrefix(line, "./"):
			mods = append(mods, line+"/...")
		case strings.HasPrefix(line, "use ./"):
			mods = append(mods, strings.TrimPrefix(line, "use ")+"/...")
		}
	}
	return dir, mods
}

func scanRepository(t *testing.T) *scan {
	root, patterns := workspace(t)
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:  root,
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	s := &scan{fset: cfg.Fset, root: root, decls: map[*types.Func]*ast.FuncDecl{}, infos: map[*ast.FuncDecl]*types.Info{}, seen: map[ast.Node]bool{}}
	var files []*ast.File
	fileInfo := map[*ast.File]*types.Info{}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("%s: %v", p.PkgPath, e)
		}
		if strings.Contains(p.PkgPath, "/demo") || p.PkgPath == module+"/platform/i18n" {
			continue // demo data is Polish already; the catalogue's own code passes texts on
		}
		for _, f := range p.Syntax {
			name := p.Fset.File(f.Pos()).Name()
			if strings.HasSuffix(name, ".pb.go") || strings.HasSuffix(name, ".pb.gw.go") {
				continue
			}
			s.fset = p.Fset
			files = append(files, f)
			fileInfo[f] = p.TypesInfo
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok {
					if fn, ok := p.TypesInfo.Defs[fd.Name].(*types.Func); ok {
						s.decls[fn] = fd
						s.infos[fd] = p.TypesInfo
					}
				}
			}
		}
	}
	for _, f := range files {
		s.file(f, fileInfo[f])
	}
	return s
}

func (s *scan) rel(p token.Position) string {
	if r, err := filepath.Rel(s.root, p.Filename); err == nil {
		return fmt.Sprintf("%s:%d", r, p.Line)
	}
	return p.String()
}

func (s *scan) file(f *ast.File, info *types.Info) {
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		fn := enclosing(stack)
		switch n := n.(type) {
		case *ast.GenDecl:
			if n.Tok == token.CONST {
				for _, spec := range n.Specs {
					for _, name := range spec.(*ast.ValueSpec).Names {
						c, ok := info.Defs[name].(*types.Const)
						if ok && reasonName.MatchString(name.Name) && c.Val().Kind() == constant.String {
							s.reasons = append(s.reasons, found{constant.StringVal(c.Val()), s.fset.Position(name.Pos())})
						}
					}
				}
			}
		case *ast.CallExpr:
			var sig *types.Signature
			switch callee := typeutil.Callee(info, n).(type) {
			case *types.Func:
				if callee.Pkg() == nil {
					return true
				}
				inRepo := strings.HasPrefix(callee.Pkg().Path(), module+"/")
				if !inRepo && !externalBuilders[callee.Pkg().Path()+"."+callee.Name()] || operatorBuilders[callee.FullName()] ||
					operatorPackages[callee.Pkg().Path()] {
					return true
				}
				sig = callee.Type().(*types.Signature)
			case *types.Var:
				// A function literal held in a variable (bad := func(format string, args ...any) error {...}).
				fs, ok := callee.Type().Underlying().(*types.Signature)
				if !ok || callee.Pkg() == nil || !strings.HasPrefix(callee.Pkg().Path(), module+"/") || operatorPackages[callee.Pkg().Path()] {
					return true
				}
				sig = fs
			default:
				return true
			}
			// A reason parameter is an error's reason only next to a message one (not, say, the reason of an
			// audit entry).
			hasMessage := false
			for i := 0; i < sig.Params().Len(); i++ {
				hasMessage = hasMessage || messageParams[sig.Params().At(i).Name()]
			}
			for i := 0; i < sig.Params().Len() && i < len(n.Args) && hasMessage; i++ {
				p := sig.Params().At(i)
				if sig.Variadic() && i == sig.Params().Len()-1 {
					// A variadic text (description ...string): every argument passed for it is a text.
					if sl, ok := p.Type().(*types.Slice); ok && isString(sl.Elem()) && messageParams[p.Name()] && !n.Ellipsis.IsValid() {
						for _, a := range n.Args[i:] {
							s.message(a, info, fn, 0)
						}
					}
					continue
				}
				if !isString(p.Type()) {
					continue
				}
				switch {
				case messageParams[p.Name()]:
					s.message(n.Args[i], info, fn, 0)
				case p.Name() == "reason":
					s.reason(n.Args[i], info, fn)
				}
			}
		case *ast.CompositeLit:
			if !s.errorStruct(info.TypeOf(n)) {
				return true
			}
			for _, el := range n.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, ok := kv.Key.(*ast.Ident)
				if !ok {
					continue
				}
				switch {
				case messageFields[key.Name]:
					s.message(kv.Value, info, fn, 0)
				case key.Name == "Reason":
					s.reason(kv.Value, info, fn)
				}
			}
		}
		return true
	})
}

// errorStruct: an error or violation struct of this repository, or one of errdetails, whose literals make
// error texts (not, say, a proto message with a description).
func (s *scan) errorStruct(t types.Type) bool {
	if t == nil {
		return false
	}
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, ok := t.(*types.Named)
	if !ok || named.Obj().Pkg() == nil {
		return false
	}
	path, name := named.Obj().Pkg().Path(), strings.ToLower(named.Obj().Name())
	if path == "google.golang.org/genproto/googleapis/rpc/errdetails" {
		return true
	}
	return strings.HasPrefix(path, module+"/") && (strings.Contains(name, "error") || strings.Contains(name, "violation"))
}

func enclosing(stack []ast.Node) ast.Node {
	for i := len(stack) - 1; i >= 0; i-- {
		switch stack[i].(type) {
		case *ast.FuncDecl, *ast.FuncLit:
			return stack[i]
		}
	}
	return nil
}

func isString(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Kind() == types.String
}

func constString(e ast.Expr, info *types.Info) (string, bool) {
	tv, ok := info.Types[e]
	if !ok || tv.Value == nil || tv.Value.Kind() != constant.String {
		return "", false
	}
	return constant.StringVal(tv.Value), true
}

// message records the text(s) an expression in a message position can have.
func (s *scan) message(e ast.Expr, info *types.Info, fn ast.Node, depth int) {
	e = ast.Unparen(e)
	if depth > 4 {
		return
	}
	if text, ok := constString(e, info); ok {
		if text != "" {
			s.messages = append(s.messages, found{text, s.fset.Position(e.Pos())})
		}
		return
	}
	switch e := e.(type) {
	case *ast.Ident:
		v, ok := info.Uses[e].(*types.Var)
		if !ok || isParam(v, fn, info) {
			return
		}
		s.assignments(v, fn, info, func(rhs ast.Expr) { s.message(rhs, info, fn, depth+1) })
		return
	case *ast.SelectorExpr:
		return // a field of another value: checked where that value was made
	case *ast.IndexExpr:
		// An element of a variadic text parameter (description[0]): checked where the caller passes it.
		if id, ok := ast.Unparen(e.X).(*ast.Ident); ok {
			if v, ok := info.Uses[id].(*types.Var); ok && isParam(v, fn, info) {
				return
			}
		}
	case *ast.CallExpr:
		callee, _ := typeutil.Callee(info, e).(*types.Func)
		if callee == nil {
			break
		}
		if callee.Pkg() != nil && callee.Pkg().Path() == "fmt" && (callee.Name() == "Sprintf" || callee.Name() == "Errorf") {
			if len(e.Args) > 0 {
				s.message(e.Args[0], info, fn, depth+1)
			}
			return
		}
		if _, isMethod := e.Fun.(*ast.SelectorExpr); isMethod && callee.Type().(*types.Signature).Recv() != nil {
			return // a method of another value (st.Message(), err.Error()): checked where that value was made
		}
		if decl, ok := s.decls[callee]; ok {
			if s.seen[decl] {
				return
			}
			s.seen[decl] = true
			dinfo := s.infos[decl]
			ast.Inspect(decl.Body, func(n ast.Node) bool {
				if _, lit := n.(*ast.FuncLit); lit {
					return false
				}
				if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
					s.message(r.Results[0], dinfo, decl, depth+1)
				}
				return true
			})
			return
		}
	}
	s.problems = append(s.problems, fmt.Sprintf("%s: a message the catalogue cannot translate by key (%s); write it as a constant format with arguments",
		s.rel(s.fset.Position(e.Pos())), types.ExprString(e)))
}

// reason records the reason(s) an expression in a reason position can have.
func (s *scan) reason(e ast.Expr, info *types.Info, fn ast.Node) {
	e = ast.Unparen(e)
	if code, ok := constString(e, info); ok {
		if code != "" {
			s.reasons = append(s.reasons, found{code, s.fset.Position(e.Pos())})
		}
		return
	}
	switch e := e.(type) {
	case *ast.Ident:
		v, ok := info.Uses[e].(*types.Var)
		if !ok || isParam(v, fn, info) {
			return
		}
		s.assignments(v, fn, info, func(rhs ast.Expr) { s.reason(rhs, info, fn) })
		return
	case *ast.SelectorExpr, *ast.CallExpr, *ast.IndexExpr:
		if _, isCall := e.(*ast.CallExpr); !isCall || isMethodCall(e, info) {
			return // read from another value, checked where that value was made
		}
	}
	s.problems = append(s.problems, fmt.Sprintf("%s: a reason that is not a constant (%s); reasons are fixed UPPER_SNAKE codes",
		s.rel(s.fset.Position(e.Pos())), types.ExprString(e)))
}

func isMethodCall(e ast.Expr, info *types.Info) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	fn, ok := typeutil.Callee(info, c).(*types.Func)
	return ok && fn.Type().(*types.Signature).Recv() != nil
}

func isParam(v *types.Var, fn ast.Node, info *types.Info) bool {
	var ft *ast.FuncType
	switch f := fn.(type) {
	case *ast.FuncDecl:
		ft = f.Type
	case *ast.FuncLit:
		ft = f.Type
	default:
		return false
	}
	for _, field := range ft.Params.List {
		for _, n := range field.Names {
			if info.Defs[n] == v {
				return true
			}
		}
	}
	// A parameter of an outer function seen from a closure is a parameter too; so is a package variable,
	// which holds a value made (and checked) elsewhere.
	return v.Parent() == nil || v.Parent() == v.Pkg().Scope() || !within(v.Pos(), fn)
}

func within(p token.Pos, n ast.Node) bool { return n != nil && p >= n.Pos() && p < n.End() }

// assignments calls f with every value assigned to the local variable v in fn.
func (s *scan) assignments(v *types.Var, fn ast.Node, info *types.Info, f func(ast.Expr)) {
	if fn == nil {
		return
	}
	ast.Inspect(fn, func(n ast.Node) bool {
		switch a := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range a.Lhs {
				id, ok := lhs.(*ast.Ident)
				if !ok || (info.Defs[id] != v && info.Uses[id] != v) {
					continue
				}
				if len(a.Rhs) == len(a.Lhs) {
					f(a.Rhs[i])
				}
			}
		case *ast.ValueSpec:
			for i, id := range a.Names {
				if info.Defs[id] == v && i < len(a.Values) {
					f(a.Values[i])
				}
			}
		}
		return true
	})
}

// TestCatalogueHasNoStrayEntries lists entries no code uses (a message reworded, a key with a typo). It
// only logs them: an entry may serve a text the scan cannot follow (a second return value, say).
func TestCatalogueHasNoStrayEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every module of the workspace")
	}
	s := scanRepository(t)
	used := map[string]bool{}
	for _, m := range s.messages {
		used[m.text] = true
	}
	var stray []string
	for en := range polish {
		if !used[en] {
			stray = append(stray, en)
		}
	}
	sort.Strings(stray)
	for _, en := range stray {
		t.Logf("not used by any code the scan follows: %q", en)
	}
}
