"""Collections (rank 3): the overdue loan's case (`processes/collections.bpmn`) — what it reads of the
loan (`cases`), the reminder SMS, the demand letter and the contacts it records, the promises it
checks, the maker-checker debt sale and write-off (`decisions`), the agencies' assignment and the
case list (`views`). Its operators are `collections.*` (`operators`); docs/post-loan.md, "Collections".
"""
