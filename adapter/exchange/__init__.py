"""The exchange of documents: the document card, receipts, the sending and the receiving side."""
