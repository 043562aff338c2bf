"""Nothing of the follow-up features is in the admin: ratings, reviews and follows hold reporter matters
(no case content for the system administrator, separation of duties, Art. 15, 17); reply templates are
managed by the bureaus. The satisfaction rate's weight in the assessment is ``oversight.AssessmentScheme``'s
(its admin and the oversight weights page)."""
