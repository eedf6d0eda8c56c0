// Deltas of join-tree views (see include/ivmx/core/join_tree.hpp).
//
// The delta of every subtree that a change reaches is computed once, as a
// materialized WITH query of the maintenance statement: a signed bag of rows
// holding, for every relation occurrence the subtree outputs, that
// occurrence's row as a composite value (column __ivm_r<i>, NULL where the
// row is NULL-extended), for every constant relation it outputs (a function
// in FROM, whose rows have no named type) each of its columns
// (__ivm_c<i>_<j>), and the row's sign (__ivm_sign, +1 or -1). A constant
// relation never changes: no change reaches it, and every term reads it in
// full. A parent
// reads its children's deltas by name, so the statement grows linearly with
// the tree, and expensive change sources (delta logs) are read once.
//
// The rules, for a delta dX of each input X (current state X', state before
// the change X = X' - dX):
//
//   inner join   d(L J R)  = dL J R' + L' J dR - dL J dR
//   filter       d(s(X))   = s(dX)
//   semi-join    d(L S R)  = dL S R' + sum over l in L touched by dR of
//                            l * ([l matches R'] - [l matched R])
//   anti-join    the same with both brackets negated
//   left join    L J R + pad(L anti R)        (right joins arrive swapped)
//   full join    L J R + pad(L anti R) + pad(R anti L)
//
// "l matched R" is (count of matches in R') - (signed count of matches in
// dR) > 0, so no state before the change is read. "Touched" is an EXISTS
// over dR, which the planner turns into a semi-join driven from the (small)
// delta into L through its indexes.
#include "ivmx/core/join_tree.hpp"

#include <map>

#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

namespace {

using Kind = JoinTree::Kind;

constexpr const char* kSignColumn = "__ivm_sign";

std::string RowColumn(size_t occurrence) {
    return "__ivm_r" + std::to_string(occurrence);
}

// Column `column` of constant relation `constant` in a subtree's delta.
std::string ConstantColumnName(size_t constant, size_t column) {
    return "__ivm_c" + std::to_string(constant) + "_" + std::to_string(column);
}

std::string OnCondition(const std::string& cond) {
    return cond.empty() ? "true" : cond;
}

// FROM items (comma-joined) binding aliases, with conditions, the composite
// row of each output occurrence, and the sign of each row.
struct Term {
    std::vector<std::string> items;
    std::vector<std::string> conds;
    // leaf -> for a relation occurrence, its composite row expression; for a
    // constant relation, the alias binding its columns (see Leaf).
    std::map<size_t, std::string> rows;
    std::string sign = "1";
};

std::string FromWhere(const std::vector<std::string>& items, const std::vector<std::string>& conds) {
    std::string sql = " FROM " + Join(items, ", ");
    if (!conds.empty()) sql += " WHERE " + Join(conds, " AND ");
    return sql;
}

// Two terms side by side, with a join condition; the sign is the product.
Term Product(const Term& a, const Term& b, const std::string& cond) {
    Term out = a;
    out.items.insert(out.items.end(), b.items.begin(), b.items.end());
    out.conds.insert(out.conds.end(), b.conds.begin(), b.conds.end());
    if (!cond.empty()) out.conds.push_back(cond);
    out.rows.insert(b.rows.begin(), b.rows.end());
    if (a.sign == "1")
        out.sign = b.sign;
    else if (b.sign != "1")
        out.sign = a.sign + " * " + b.sign;
    return out;
}

Term WithCondition(Term t, const std::string& cond) {
    if (!cond.empty()) t.conds.push_back(cond);
    return t;
}

std::string Negated(const std::string& sign) {
    return "-(" + sign + ")";
}

std::string Indicator(const std::string& condition) {
    return "CASE WHEN " + condition + " THEN 1 ELSE 0 END";
}

class TreeCompiler {
  public:
    TreeCompiler(const ViewDefinition& view, const std::vector<ChangedOccurrence>& changed, std::string with_prefix)
        : view_(view), changed_(changed), with_prefix_(std::move(with_prefix)) {}

    // The subtree in its current state as a single FROM item.
    std::string Fragment(const JoinTree& n) {
        switch (n.kind) {
            case Kind::Relation: {
                const BaseRelation& rel = view_.relations[n.occurrence];
                return QuoteQualified(rel.name) + " AS " + rel.alias;
            }
            case Kind::Constant:
                return ConstantFromItem(view_.constants[n.occurrence]);
            case Kind::Inner:
                if (n.condition_sql.empty())
                    return "(" + Fragment(n.children[0]) + " CROSS JOIN " + Fragment(n.children[1]) + ")";
                return "(" + Fragment(n.children[0]) + " INNER JOIN " + Fragment(n.children[1]) + " ON " +
                       n.condition_sql + ")";
            case Kind::Left:
            case Kind::Full:
                return "(" + Fragment(n.children[0]) + (n.kind == Kind::Left ? " LEFT JOIN " : " FULL JOIN ") +
                       Fragment(n.children[1]) + " ON " + OnCondition(n.condition_sql) + ")";
            case Kind::Filter:
                return Restricted(Fragment(n.children[0]), n.condition_sql);
            case Kind::Semi:
            case Kind::Anti:
                return Restricted(Fragment(n.children[0]), MatchTest(n, n.kind == Kind::Semi));
        }
        return {};
    }

    // The subtree in its current state as a term (conditions kept apart
    // where the subtree is an inner join, filter or semi-join, so that the
    // planner sees them as join conditions).
    Term Post(const JoinTree& n) {
        Term t;
        switch (n.kind) {
            case Kind::Relation:
            case Kind::Constant:
                t.items.push_back(Fragment(n));
                break;
            case Kind::Inner:
                return Product(Post(n.children[0]), Post(n.children[1]), n.condition_sql);
            case Kind::Filter:
                return WithCondition(Post(n.children[0]), n.condition_sql);
            case Kind::Semi:
            case Kind::Anti:
                return WithCondition(Post(n.children[0]), MatchTest(n, n.kind == Kind::Semi));
            case Kind::Left:
            case Kind::Full:
                t.items.push_back(Fragment(n));
                break;
        }
        for (size_t leaf : Outputs(n)) t.rows[leaf] = CurrentRow(leaf);
        return t;
    }

    // The name of the WITH query holding the subtree's delta, or "" when no
    // change reaches the subtree.
    std::string Delta(const JoinTree& n) {
        auto known = deltas_.find(&n);
        if (known != deltas_.end()) return known->second;
        std::vector<Term> terms = DeltaTerms(n);
        std::string name;
        if (!terms.empty()) {
            name = with_prefix_ + std::to_string(with_items_.size() + 1);
            std::vector<std::string> selects;
            for (const auto& t : terms) selects.push_back(Select(n, t));
            with_items_.push_back(name + " AS MATERIALIZED (SELECT * FROM (" + Join(selects, " UNION ALL ") +
                                  ") AS __ivm_q WHERE __ivm_q." + kSignColumn + " <> 0)");
        }
        deltas_[&n] = name;
        return name;
    }

    // The delta of a subtree as a term binding the subtree's aliases.
    Term DeltaTerm(const JoinTree& n) {
        const std::string name = Delta(n);
        const std::string u = FreshName("__ivm_u");
        std::string item = name + " AS " + u;
        Term t;
        for (size_t leaf : Outputs(n)) {
            if (IsConstant(leaf)) {
                const ConstantRelation& constant = view_.constants[leaf - view_.relations.size()];
                std::vector<std::string> columns;
                for (size_t j = 0; j < constant.columns.size(); ++j)
                    columns.push_back(u + "." + ConstantColumnName(leaf - view_.relations.size(), j) + " AS " +
                                      QuoteIdent(constant.columns[j].name));
                item += " CROSS JOIN LATERAL (SELECT " + Join(columns, ", ") + ") AS " + constant.alias;
                t.rows[leaf] = constant.alias;
                continue;
            }
            const std::string row = u + "." + RowColumn(leaf);
            item += " CROSS JOIN LATERAL (SELECT (" + row + ").*) AS " + view_.relations[leaf].alias;
            t.rows[leaf] = row;
        }
        t.items.push_back("(" + item + ")");
        t.sign = u + "." + kSignColumn;
        return t;
    }

    const std::vector<std::string>& with_items() const { return with_items_; }

  private:
    // Leaves are numbered: relation occurrence i is leaf i, constant
    // relation k is leaf relations.size() + k.
    bool IsConstant(size_t leaf) const { return leaf >= view_.relations.size(); }

    size_t Leaf(const JoinTree& n) const {
        return n.kind == Kind::Constant ? view_.relations.size() + n.occurrence : n.occurrence;
    }

    // What a term reading the leaf in its current state records in
    // Term::rows.
    std::string CurrentRow(size_t leaf) const {
        return IsConstant(leaf) ? view_.constants[leaf - view_.relations.size()].alias : WholeRow(leaf);
    }

    // The row of an occurrence as a value of its relation's row type. alias.*
    // in an expression is the whole row even where some relation in scope
    // has a column named like the alias.
    std::string WholeRow(size_t occurrence) const {
        const BaseRelation& rel = view_.relations[occurrence];
        return "CAST(" + rel.alias + ".* AS " + QuoteQualified(rel.name) + ")";
    }

    // The leaves whose rows a subtree outputs (not the inner side of a
    // semi- or anti-join).
    std::vector<size_t> Outputs(const JoinTree& n) const {
        if (n.kind == Kind::Relation || n.kind == Kind::Constant) return {Leaf(n)};
        std::vector<size_t> out = Outputs(n.children[0]);
        if (n.kind == Kind::Inner || n.kind == Kind::Left || n.kind == Kind::Full) {
            std::vector<size_t> right = Outputs(n.children[1]);
            out.insert(out.end(), right.begin(), right.end());
        }
        return out;
    }

    bool Reached(const JoinTree& n) const {
        if (n.kind == Kind::Constant) return false;
        if (n.kind == Kind::Relation) {
            for (const auto& c : changed_)
                if (c.occurrence == n.occurrence && (!c.inserted.empty() || !c.deleted.empty())) return true;
            return false;
        }
        for (const auto& child : n.children)
            if (Reached(child)) return true;
        return false;
    }

    // One term as a SELECT of the subtree's composite rows and the sign;
    // occurrences the term does not bind are NULL (padding).
    std::string Select(const JoinTree& n, const Term& t) {
        std::vector<std::string> list;
        for (size_t leaf : Outputs(n)) {
            auto row = t.rows.find(leaf);
            if (IsConstant(leaf)) {
                const size_t k = leaf - view_.relations.size();
                const ConstantRelation& constant = view_.constants[k];
                for (size_t j = 0; j < constant.columns.size(); ++j)
                    list.push_back((row == t.rows.end() ? "CAST(NULL AS " + constant.columns[j].type_sql + ")"
                                                        : QualifiedColumn(row->second, constant.columns[j].name)) +
                                   " AS " + ConstantColumnName(k, j));
                continue;
            }
            const std::string type = QuoteQualified(view_.relations[leaf].name);
            list.push_back((row == t.rows.end() ? "CAST(NULL AS " + type + ")" : row->second) + " AS " +
                           RowColumn(leaf));
        }
        list.push_back("(" + t.sign + ") AS " + kSignColumn);
        return "SELECT " + Join(list, ", ") + FromWhere(t.items, t.conds);
    }

    std::vector<Term> DeltaTerms(const JoinTree& n) {
        if (!Reached(n)) return {};
        switch (n.kind) {
            case Kind::Constant:  // never reached
                return {};
            case Kind::Relation:
                return RelationTerms(n.occurrence);
            case Kind::Filter:
                return {WithCondition(DeltaTerm(n.children[0]), n.condition_sql)};
            case Kind::Inner:
                return InnerTerms(n.children[0], n.children[1], n.condition_sql);
            case Kind::Semi:
            case Kind::Anti:
                return MatchFilterTerms(n.children[0], n.children[1], n.condition_sql, n.kind == Kind::Semi);
            case Kind::Left:
            case Kind::Full: {
                const JoinTree& l = n.children[0];
                const JoinTree& r = n.children[1];
                const std::string c = OnCondition(n.condition_sql);
                std::vector<Term> out = InnerTerms(l, r, c);
                // Dangling rows: Select pads the occurrences they do not bind.
                for (auto& t : MatchFilterTerms(l, r, c, false)) out.push_back(std::move(t));
                if (n.kind == Kind::Full)
                    for (auto& t : MatchFilterTerms(r, l, c, false)) out.push_back(std::move(t));
                return out;
            }
        }
        return {};
    }

    // The changed rows of one occurrence, cast to the relation's row type.
    std::vector<Term> RelationTerms(size_t occurrence) {
        const BaseRelation& rel = view_.relations[occurrence];
        std::vector<Term> out;
        for (const auto& c : changed_) {
            if (c.occurrence != occurrence) continue;
            for (int side = 0; side < 2; ++side) {
                const std::string& source = side == 0 ? c.inserted : c.deleted;
                if (source.empty()) continue;
                Term t;
                t.items.push_back(source + " AS " + rel.alias);
                t.rows[occurrence] = WholeRow(occurrence);
                t.sign = side == 0 ? "1" : "-1";
                out.push_back(std::move(t));
            }
        }
        return out;
    }

    std::vector<Term> InnerTerms(const JoinTree& l, const JoinTree& r, const std::string& cond) {
        const bool dl = Reached(l), dr = Reached(r);
        std::vector<Term> out;
        if (dl) out.push_back(Product(DeltaTerm(l), Post(r), cond));
        if (dr) out.push_back(Product(Post(l), DeltaTerm(r), cond));
        if (dl && dr) {
            Term cross = Product(DeltaTerm(l), DeltaTerm(r), cond);
            cross.sign = Negated(cross.sign);
            out.push_back(std::move(cross));
        }
        return out;
    }

    // The delta of the rows of l that have (keep_matched) or have not a row
    // of r satisfying cond.
    std::vector<Term> MatchFilterTerms(const JoinTree& l, const JoinTree& r, const std::string& cond,
                                       bool keep_matched) {
        const bool dl = Reached(l), dr = Reached(r);
        const std::string matches_now = Exists(Post(r), cond);
        std::vector<Term> out;
        if (dl) out.push_back(WithCondition(DeltaTerm(l), keep_matched ? matches_now : "NOT " + matches_now));
        if (!dr) return out;

        const Term delta_r = DeltaTerm(r);
        const std::string matched_before = "((SELECT count(*)" + Body(Post(r), cond) + ") - (SELECT COALESCE(sum(" +
                                           delta_r.sign + "), 0)" + Body(delta_r, cond) + ") > 0)";
        // [status now] - [status before] of a row of l.
        std::string change = Indicator(matches_now) + " - " + Indicator(matched_before);
        if (!keep_matched) change = Indicator(matched_before) + " - " + Indicator(matches_now);
        const std::string touched = Exists(delta_r, cond);

        // l before the change: l' - dl.
        Term post_l = WithCondition(Post(l), touched);
        post_l.sign = change;
        out.push_back(std::move(post_l));
        if (dl) {
            Term old = WithCondition(DeltaTerm(l), touched);
            old.sign = Negated(old.sign) + " * (" + change + ")";
            out.push_back(std::move(old));
        }
        return out;
    }

    static std::string Body(const Term& t, const std::string& cond) {
        std::vector<std::string> conds = t.conds;
        if (!cond.empty()) conds.push_back(cond);
        return FromWhere(t.items, conds);
    }

    static std::string Exists(const Term& t, const std::string& cond) {
        return "EXISTS (SELECT 1" + Body(t, cond) + ")";
    }

    // `item` restricted to rows satisfying cond, still one FROM item with the
    // same aliases visible (a join with an empty one-row relation).
    std::string Restricted(const std::string& item, const std::string& cond) {
        return "(" + item + " INNER JOIN (SELECT) AS " + FreshName("__ivm_f") + " ON " + OnCondition(cond) + ")";
    }

    std::string FreshName(const char* prefix) { return prefix + std::to_string(++names_); }

    // [EXISTS] of a semi-/anti-join node's inner side, in the current state.
    std::string MatchTest(const JoinTree& n, bool matched) {
        const std::string test = Exists(Post(n.children[1]), n.condition_sql);
        return matched ? test : "NOT " + test;
    }

    const ViewDefinition& view_;
    const std::vector<ChangedOccurrence> changed_;
    const std::string with_prefix_;  // of the WITH queries' names
    std::map<const JoinTree*, std::string> deltas_;
    std::vector<std::string> with_items_;
    int names_ = 0;
};

// Counts the leaves naming each relation occurrence (seen) and each
// constant relation (seen_constants).
void CountOccurrences(const JoinTree& n, std::vector<int>& seen, std::vector<int>& seen_constants) {
    const bool leaf = n.kind == Kind::Relation || n.kind == Kind::Constant;
    const size_t expected = leaf ? 0 : n.kind == Kind::Filter ? 1 : 2;
    if (n.children.size() != expected) throw Error(sqlstate::kInternalError, "malformed join tree");
    if (leaf) {
        std::vector<int>& counts = n.kind == Kind::Relation ? seen : seen_constants;
        if (n.occurrence >= counts.size()) throw Error(sqlstate::kInternalError, "join tree names an unknown relation");
        ++counts[n.occurrence];
    }
    for (const auto& child : n.children) CountOccurrences(child, seen, seen_constants);
}

}  // namespace

std::string JoinTreeFrom(const ViewDefinition& view) {
    TreeCompiler compiler(view, {}, "__ivm_d");
    Term t = compiler.Post(*view.join_tree);
    if (!view.where_sql.empty()) t.conds.push_back(view.where_sql);
    if (t.conds.empty()) t.conds.push_back("true");  // callers may append " AND ..."
    return FromWhere(t.items, t.conds);
}

void AddJoinTreeDelta(const ViewDefinition& view, const std::vector<ChangedOccurrence>& changed, Delta& delta,
                      const std::string& with_prefix) {
    TreeCompiler compiler(view, changed, with_prefix);
    if (compiler.Delta(*view.join_tree).empty()) return;
    const Term root = compiler.DeltaTerm(*view.join_tree);
    for (int sign : {1, -1}) {
        Term t = WithCondition(root, root.sign + (sign > 0 ? " > 0" : " < 0"));
        if (!view.where_sql.empty()) t.conds.push_back(view.where_sql);
        DeltaStream stream;
        stream.sign = sign;
        stream.from_sql = FromWhere(t.items, t.conds);
        delta.streams.push_back(std::move(stream));
    }
    delta.with_items = compiler.with_items();
}

bool NamesConstant(const JoinTree& tree, size_t constant) {
    if (tree.kind == Kind::Constant) return tree.occurrence == constant;
    for (const auto& child : tree.children)
        if (NamesConstant(child, constant)) return true;
    return false;
}

void ValidateJoinTree(const ViewDefinition& view) {
    if (!view.join_tree) return;
    std::vector<int> seen(view.relations.size(), 0);
    std::vector<int> seen_constants(view.constants.size(), 0);
    CountOccurrences(*view.join_tree, seen, seen_constants);
    seen.insert(seen.end(), seen_constants.begin(), seen_constants.end());
    for (int n : seen)
        if (n != 1) throw Error(sqlstate::kInternalError, "join tree does not name every relation once");
}

}  // namespace ivmx::core
