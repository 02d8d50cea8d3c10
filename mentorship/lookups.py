"""`field__any=ids`: membership in a long list of ids, sent to PostgreSQL as one array
parameter (`= ANY(%s::bigint[])`) where `__in` sends a placeholder per id. With the 100,000
people of a large cohort, building, sending and parsing those placeholders cost seconds per
query. Other databases get the `IN` of `__in`. Registered on every field when the matching
app is ready; meant for integer ids."""

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, ForeignObject
from django.db.models.lookups import In


class AnyOf(In):
    lookup_name = "any"

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql" or not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        lhs, params = self.process_lhs(compiler, connection)
        values = [int(value) for value in self.rhs if value is not None]
        if not values:
            raise EmptyResultSet
        return f"{lhs} = ANY(%s::bigint[])", (*params, values)


# Relations keep lookups of their own (ForeignObject.get_lookups), so both registrations.
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
