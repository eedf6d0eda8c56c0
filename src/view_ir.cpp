// Facts derived from a view definition: hidden column names, row identity,
// locking needs (see include/ivmx/core/view_ir.hpp).
#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

std::string MultiplicityColumn() { return "__ivm_count__"; }

std::string NonNullCountColumn(size_t column_index) {
    return "__ivm_count_" + std::to_string(column_index + 1) + "__";
}

std::string AvgSumColumn(size_t column_index) {
    return "__ivm_sum_" + std::to_string(column_index + 1) + "__";
}

std::string LostExtremeColumn(size_t column_index) {
    return "__ivm_lost_" + std::to_string(column_index + 1) + "__";
}

std::string HiddenKeyColumn(size_t key_number) {
    return "__ivm_key_" + std::to_string(key_number) + "__";
}

std::vector<TableColumn> TableLayout(const ViewDefinition& view) {
    std::vector<TableColumn> layout;
    for (int pass = 0; pass < 2; ++pass)
        for (size_t i = 0; i < view.columns.size(); ++i)
            if (view.columns[i].hidden == (pass == 1))
                layout.push_back({TableColumn::Kind::Output, i, view.columns[i].name});
    if (view.shape == ViewShape::Bag) return layout;
    layout.push_back({TableColumn::Kind::Multiplicity, 0, MultiplicityColumn()});
    for (size_t i = 0; i < view.columns.size(); ++i) {
        const auto& agg = view.columns[i].aggregate;
        if (!agg || agg->kind == AggregateKind::Count || agg->kind == AggregateKind::CountStar)
            continue;
        layout.push_back({TableColumn::Kind::NonNullCount, i, NonNullCountColumn(i)});
        if (agg->kind == AggregateKind::Avg)
            layout.push_back({TableColumn::Kind::AvgSum, i, AvgSumColumn(i)});
        if ((agg->kind == AggregateKind::Min || agg->kind == AggregateKind::Max) &&
            view.shape == ViewShape::Grouped)
            layout.push_back({TableColumn::Kind::LostExtreme, i, LostExtremeColumn(i)});
    }
    return layout;
}

bool IsReservedColumnName(const std::string& name) { return name.rfind("__ivm", 0) == 0; }

bool IsKeyed(ViewShape shape) { return shape == ViewShape::Distinct || shape == ViewShape::Grouped; }

std::vector<std::string> IdentityColumns(const ViewDefinition& view) {
    std::vector<std::string> identity;
    switch (view.shape) {
        case ViewShape::Distinct:
        case ViewShape::Grouped:
            for (const auto& column : view.columns)
                if (column.role == ColumnRole::GroupKey || column.role == ColumnRole::Plain)
                    identity.push_back(column.name);
            break;
        case ViewShape::Bag:
            identity = view.row_key_columns;
            break;
        case ViewShape::GlobalAggregate:
            break;
    }
    return identity;
}

bool NeedsViewLock(const ViewDefinition& view) {
    // Rows of a bag view without a key are matched by value: two writers
    // deleting equal rows would pick the same physical row.
    if (view.shape == ViewShape::Bag && view.row_key_columns.empty()) return true;
    // Several occurrences of base relations: the delta of one writer depends
    // on the others' changes (the cross terms), so writers take turns.
    return view.relations.size() > 1;
}

}  // namespace ivmx::core
