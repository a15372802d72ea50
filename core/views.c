/* views.c - list replies from stored records (see views_impl.h). */
#include <stdalign.h>
#include <stdlib.h>

#include "gw/err.h"
#include "views_impl.h"

int
gw_views_fill(ProtobufCMessage *out, void *const *records, size_t n,
    size_t view_size, gw_view_fn view, void **mem)
{
	const ProtobufCMessageDescriptor *d = out->descriptor;
	const ProtobufCFieldDescriptor   *f = NULL;
	void                            **ptrs;
	char                             *views;
	size_t                            head;

	*mem = NULL;
	for (unsigned i = 0; i < d->n_fields && f == NULL; i++)
		if (d->fields[i].label == PROTOBUF_C_LABEL_REPEATED &&
		    d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
			f = &d->fields[i];
	GW_ASSERT(f != NULL);
	/* pointers first, then the views, suitably aligned */
	head = (n + 1) * sizeof(void *);
	head = (head + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if ((ptrs = calloc(1, head + (n + 1) * view_size)) == NULL)
		return GW_ENOMEM;
	views = (char *) ptrs + head;
	for (size_t i = 0; i < n; i++) {
		ptrs[i] = views + i * view_size;
		view(records[i], ptrs[i]);
	}
	*(size_t *) ((char *) out + f->quantifier_offset) = n;
	*(void ***) ((char *) out + f->offset) = ptrs;
	*mem = ptrs;
	return GW_OK;
}
