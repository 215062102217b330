"""SEPA files: pain.008 direct debits and pain.001 credit transfers out, pain.002 reports in."""
